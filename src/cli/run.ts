// `nslab run -- COMMAND...`: runs a command where nslab can make labs, for test
// suites that use nslab's API (vitest). As root, the command runs as it is.
// Without root it runs inside a holder of its own (rootless.ts runInHolder),
// holding that user namespace's capabilities: the labs the API brings up are
// made in there, as root's are on the machine, and end with the holder when
// the command ends. Why a wrapper and not the API entering a holder itself: a
// process enters a user namespace only while it has one thread (setns), and
// Node always has several; the API also reads what a lab writes (pcaps,
// /proc of its services, /etc/netns) in its own process, so that process must
// be inside.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { UsageError } from '../errors.js';
import { rootlessHere, runInHolder } from './rootless.js';

export async function run(command: string[]): Promise<number> {
  if (!command.length)
    throw new UsageError('nslab run needs a command', "e.g. 'nslab run -- npx vitest run' (docs/api.md)");
  if (rootlessHere()) return runInHolder(command);
  return runHere(command);
}

/**
 * The command as a child, its exit status returned (128 + a signal that ended it). A terminal's Ctrl-C reaches it
 * directly (same process group) and is ignored here meanwhile; SIGTERM and SIGHUP are passed on.
 */
function runHere(argv: string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  const pass = (sig: NodeJS.Signals) => () => {
    if (sig !== 'SIGINT') child.kill(sig);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, pass(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise<number>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      process.stderr.write(`nslab: cannot run ${argv[0]}: ${e.code === 'ENOENT' ? 'not found' : e.message}\n`);
      resolve(127);
    });
    child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 0)));
  }).finally(() => {
    for (const [s, h] of handlers) process.off(s, h);
  });
}
