// `nslab doctor`, per verb: whether it can run here without root, and if not,
// why and the fix (issue 21). Rootless labs live in holders (src/engine/holder.ts):
// making one needs unprivileged user namespaces, unshare and mount; entering
// one needs perl and system call numbers ENTER_PL knows.
import { arch } from 'node:os';
import type { UsernsBlock } from '../engine/rootless.js';

export interface VerbVerdict {
  verb: string;
  rootless: boolean;
  why?: string;
  fix?: string;
  /** what of the verb still needs root where it runs rootless */
  note?: string;
}

/** What each verb needs without root, beyond what every lab needs (the requirements table). */
const NEEDS: [verb: string, needs: ('userns' | 'make' | 'enter')[], note?: string][] = [
  ['validate, plan, graph, export, exercise, import, snapshot', []],
  ['ls, down, cleanup', []],
  ['up', ['userns', 'make', 'enter']],
  ['test', ['userns', 'make', 'enter'], '--keep: one lab file at a time'],
  ['run', ['userns', 'make', 'enter'], "the vitest API: 'nslab run -- npx vitest run'"],
  ['exec, shell', ['enter']],
  [
    'check, explain, reset, snapshot --node',
    ['enter'],
    'check and reset --instance PATTERN of several labs at once need root',
  ],
];

/** The programs each need brings in; `have` says which are on PATH. */
export function verbVerdicts(blocked: UsernsBlock | undefined, have: (program: string) => boolean): VerbVerdict[] {
  const enterable = ['x64', 'arm64'].includes(arch());
  return NEEDS.map(([verb, needs, note]) => {
    const why: string[] = [],
      fix: string[] = [];
    if (needs.includes('userns') && blocked) {
      why.push(blocked.reason);
      fix.push(blocked.fix);
    }
    for (const [need, program, pkg] of [
      ['make', 'unshare', 'util-linux'],
      ['make', 'mount', 'mount'],
      ['enter', 'perl', 'perl-base'],
    ] as const)
      if (needs.includes(need) && !have(program)) {
        why.push(`'${program}' is not installed`);
        fix.push(`apt-get install ${pkg}`);
      }
    if (needs.includes('enter') && !enterable) {
      why.push(`entering a lab's holder knows the system calls of x86_64 and aarch64 only, not ${arch()}`);
      fix.push('run as root');
    }
    return why.length
      ? { verb, rootless: false, why: why.join('; '), fix: fix.join('; ') }
      : { verb, rootless: true, ...(note ? { note } : {}) };
  });
}
