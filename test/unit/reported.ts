import { reportError } from '../../src/cli/report-error.js';

/** What the CLI would report for an error: its exit status and its standard error, as `nslab` prints them. */
export function reported(e: unknown): { code: number; stderr: string } {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (s: string) => {
    stderr += s;
    return true;
  };
  try {
    return { code: reportError(e), stderr };
  } finally {
    process.stderr.write = write;
  }
}
