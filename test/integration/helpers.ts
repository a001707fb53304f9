// Shared by the privileged tests: real commands, real namespaces.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const isRoot = process.getuid?.() === 0;
export const NOT_ROOT = 'needs root (network namespaces)';

export function sh(argv: string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function json<T = any>(argv: string[]): T {
  return JSON.parse(sh(argv) || 'null') as T;
}

/** nslab's namespaces whose names start with this prefix. */
export function namespaces(prefix = 'nslab-'): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

export const CLI = join(process.cwd(), 'dist/bin/main.js');

/** Runs the built (shipped) CLI, with the default state directory unless env says otherwise. */
export function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env, FORCE_COLOR: '0' } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A private temporary directory for a test's files (lab files, artifacts). */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nslab-test-'));
}

/** The state directory the tests share with everyone: the default one. */
export const STATE_DIR = '/run/nslab';

export const uid = () => Math.random().toString(36).slice(2, 8);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** nslab's table-name directories in /etc/netns whose names start with this prefix (none may outlive their lab). */
export function etcNetns(prefix = 'nslab-'): string[] {
  try {
    return readdirSync('/etc/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** The message of the assertion `f` makes fail; throws if it passes (a twin that must fail). */
export const fails = async (f: () => Promise<unknown>): Promise<string> => {
  try {
    await f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the assertion passed, and its twin must fail');
};
