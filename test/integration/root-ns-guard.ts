// Global setup of the integration tests: the machine's own (root) network
// namespace must be byte-identical before and after the whole suite.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const VOLATILE = /^net\.(netfilter\.nf_conntrack_count|ipv4\.tcp_.*mem|core\.netdev_rss_key|ipv6\.route\.gc_.*|ipv4\.route\.gc_.*)\b/;

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    return `(${argv.join(' ')} failed: ${(e as Error).message.split('\n')[0]})`;
  }
}

export function snapshotRootNamespace(): string {
  const parts: [string, string][] = [
    ['links', run(['ip', '-j', 'link', 'show'])],
    ['addresses', run(['ip', '-j', 'addr', 'show'])],
    ['routes v4', run(['ip', '-j', '-4', 'route', 'show', 'table', 'all'])],
    ['routes v6', run(['ip', '-j', '-6', 'route', 'show', 'table', 'all'])],
    ['rules v4', run(['ip', '-j', '-4', 'rule', 'show'])],
    ['rules v6', run(['ip', '-j', '-6', 'rule', 'show'])],
    ['nft', run(['nft', 'list', 'ruleset'])],
    ['sysctl', run(['sysctl', '-a', '-r', '^net\\.']).split('\n').filter((l) => !VOLATILE.test(l)).join('\n')],
  ];
  return parts.map(([k, v]) => `## ${k}\n${v}`).join('\n');
}

export default function setup() {
  if (process.getuid?.() !== 0) return;
  const before = snapshotRootNamespace();
  return () => {
    const after = snapshotRootNamespace();
    if (after !== before) {
      writeFileSync('/tmp/nslab-rootns-before.txt', before);
      writeFileSync('/tmp/nslab-rootns-after.txt', after);
      // vitest ignores an exception thrown here, so fail the run explicitly
      console.error('FAIL root namespace guard: the root network namespace changed during the suite: diff /tmp/nslab-rootns-before.txt /tmp/nslab-rootns-after.txt');
      process.exitCode = 1;
    } else {
      console.log('root namespace guard: links, addresses, routes, rules, nft ruleset and net.* sysctls unchanged');
    }
  };
}
