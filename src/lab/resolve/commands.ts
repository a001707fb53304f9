// The commands a lab runs in its nodes, a service's or an exec test's: a string is split into words as a simple
// shell would (no shell is involved), and a command must name a program.
import type { Path } from '../load.js';
import type { ResolveContext } from './context.js';

/** Splits a command string into words, honouring simple quotes; no shell is involved. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** A command (service or exec test): a program to run, not an empty line. */
export function checkCommand(cx: ResolveContext, argv: string[], path: Path): boolean {
  if (!argv.length || !argv[0]!.trim()) {
    cx.problem(path, 'command is empty', 'name the program to run and its arguments, e.g. sleep 3600');
    return false;
  }
  if (argv.some((a) => a.includes('\u0000'))) {
    cx.problem(path, 'command contains a NUL character', 'remove it');
    return false;
  }
  return true;
}
