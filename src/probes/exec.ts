// exec: a command inside a node; its exit status and output.
import { splitWords } from '../lab/resolve.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

/** "/re/flags" is a regular expression; anything else must appear as written. */
export function matches(text: string, want: string): boolean {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(want);
  return m ? new RegExp(m[1]!, m[2]).test(text) : text.includes(want);
}

export const exec: Probe = async ({ lab, test }) => {
  const s = test.spec as { node: string; command: string | string[] };
  const argv = typeof s.command === 'string' ? splitWords(s.command) : s.command;
  // as the user's shell sees the node: its table names too
  const r = await lab.exec(s.node, argv, { timeoutMs: 30_000, etc: true });
  const short = (t: string) => (t.length > 300 ? `${t.slice(0, 300)}…` : t).trim() || '(empty)';
  const judge = (e: ExpectT) => {
    const checks = [check('exit', e.exit ?? 0, r.exitCode)];
    if (e.stdout !== undefined) checks.push(check('stdout', e.stdout, short(r.stdout), matches(r.stdout, e.stdout)));
    if (e.stderr !== undefined) checks.push(check('stderr', e.stderr, short(r.stderr), matches(r.stderr, e.stderr)));
    return checks;
  };
  return { checks: judge(test.expect), judge, facts: { command: argv.join(' ') } };
};
