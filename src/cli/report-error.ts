// How the CLI reports a failure and which exit status it ends with; shared by
// the full CLI (main.ts) and the entry's direct paths (entry.ts).
import { EXIT, JsonFileError, LabFileError, NslabError } from '../errors.js';

/** Writes the message for an error to stderr; returns the exit status. */
export function reportError(e: unknown): number {
  if (e instanceof LabFileError || e instanceof JsonFileError) {
    // lines start with file:line:col (or FILE: JSON path), for editors and CI annotations
    process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof NslabError) {
    process.stderr.write(`nslab: ${e.message}\n`);
    return e.exitCode;
  }
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    // a file the user named (graph -o, export -o) is not a matter of root
    const path = (e as NodeJS.ErrnoException).path;
    const hint =
      path && !/^\/(run|proc|sys|etc\/netns)\b/.test(path)
        ? `check that you may write ${path}`
        : 'this needs root (or a privileged container)';
    process.stderr.write(`nslab: ${(e as Error).message}\n    hint: ${hint}\n`);
    return EXIT.environment;
  }
  process.stderr.write(`nslab: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  return EXIT.failed;
}

/** A reader that stops early (`nslab validate labs/ | head`) is no error: stop writing, quietly. */
export function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
  });
}
