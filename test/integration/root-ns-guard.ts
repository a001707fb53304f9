// Global setup of the integration tests: the machine's own (root) network
// namespace must be byte-identical before and after the whole suite, and a lab
// that someone else left up (the bystander: brought up with `nslab up` in the
// default state directory before the suite) must still be there and answer
// after it: the suite never touches what it did not create.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VOLATILE =
  /^net\.(netfilter\.nf_conntrack_count|ipv4\.tcp_.*mem|core\.netdev_rss_key|ipv6\.route\.gc_.*|ipv4\.route\.gc_.*)\b/;

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    return `(${argv.join(' ')} failed: ${(e as Error).message.split('\n')[0]})`;
  }
}

/**
 * `ip -j` output without the countdowns the kernel runs by itself: an address or
 * route learned from a router advertisement (a container's user-mode network, a
 * CI host's) shows its remaining lifetime, which differs at every look.
 */
const COUNTDOWNS = new Set(['valid_life_time', 'preferred_life_time', 'expires']);
function withoutCountdowns(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text, (k, v) => (COUNTDOWNS.has(k) ? undefined : v)));
  } catch {
    return text; // not JSON: a failure's message, compared as it is
  }
}

export function snapshotRootNamespace(): string {
  const parts: [string, string][] = [
    ['links', run(['ip', '-j', 'link', 'show'])],
    ['addresses', withoutCountdowns(run(['ip', '-j', 'addr', 'show']))],
    ['routes v4', withoutCountdowns(run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']))],
    ['routes v6', withoutCountdowns(run(['ip', '-j', '-6', 'route', 'show', 'table', 'all']))],
    ['rules v4', run(['ip', '-j', '-4', 'rule', 'show'])],
    ['rules v6', run(['ip', '-j', '-6', 'rule', 'show'])],
    ['nft', run(['nft', 'list', 'ruleset'])],
    [
      'sysctl',
      run(['sysctl', '-a', '-r', '^net\\.'])
        .split('\n')
        .filter((l) => !VOLATILE.test(l))
        .join('\n'),
    ],
  ];
  return parts.map(([k, v]) => `## ${k}\n${v}`).join('\n');
}

const cli = (args: string[]) =>
  spawnSync('node', ['dist/bin/main.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

function bystanderAnswers(instance: string): boolean {
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n?.startsWith(`nslab-${instance}.`));
  return ns.length === 5 && cli(['exec', instance, 'pc2', '--', 'ping', '-c1', '-W2', '192.168.1.220']).status === 0;
}

export default function setup() {
  if (process.getuid?.() !== 0) return;
  const before = snapshotRootNamespace();
  const bystander = `dual-nic-reply-path.by${Math.random().toString(36).slice(2, 8)}`;
  const up = cli(['up', 'labs/dual-nic-reply-path.yaml', '--instance', bystander.split('.')[1]!]);
  if (up.status !== 0) throw new Error(`bystander lab did not come up: ${up.stderr}`);
  return () => {
    // vitest ignores an exception thrown here, so fail the run explicitly
    const fail = (msg: string) => {
      console.error(`FAIL ${msg}`);
      process.exitCode = 1;
    };
    if (bystanderAnswers(bystander))
      console.log(`bystander guard: the lab '${bystander}' that the suite did not create is intact and answers`);
    else fail(`bystander guard: the lab '${bystander}', up before the suite, was damaged during it`);
    cli(['down', bystander]);
    const after = snapshotRootNamespace();
    if (after !== before) {
      const dir = mkdtempSync(join(tmpdir(), 'nslab-rootns-'));
      writeFileSync(join(dir, 'before.txt'), before);
      writeFileSync(join(dir, 'after.txt'), after);
      fail(
        `root namespace guard: the root network namespace changed during the suite: diff ${dir}/before.txt ${dir}/after.txt`,
      );
    } else {
      console.log('root namespace guard: links, addresses, routes, rules, nft ruleset and net.* sysctls unchanged');
    }
  };
}
