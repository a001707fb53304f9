// A plan is a list of steps: data, not actions. The engine batches and runs
// them; `nslab plan` prints them; tests compare them without root.
import { oneLine } from '../errors.js';
import { BATCH_TOKEN, SYSCTL_KEY, SYSCTL_VALUE } from '../lab/grammar.js';
import type { ServiceModel, Source } from '../lab/model.js';
import type { TableNames } from './table-names.js';

export type Tool = 'ip' | 'tc' | 'sysctl' | 'nft' | 'service';
export type Phase = 'create' | 'configure' | 'services';

export interface Step {
  phase: Phase;
  /**
   * Namespace the step runs in; null is the root namespace's `ip`, used only to create namespaces and veths inside
   * them.
   */
  ns: string | null;
  node?: string;
  tool: Tool;
  /** ip/tc: one batch line; sysctl: key=value; nft: nft arguments; service: the program's argv. */
  args: string[];
  /** ip: 6 runs the line with `ip -6` (rules and routes whose family the line itself does not show). */
  family?: 6;
  /** Standard input (nft rulesets). */
  input?: string;
  /** Where in the lab file the step comes from, for error messages. */
  at?: Source;
  /** The step that undoes this one, where deleting the namespace does not. */
  undo?: { tool: Tool; args: string[] };
  /** Service name, for service steps. */
  service?: string;
  /** A stage's action on a service declared before it (none: start a newly declared service). */
  action?: 'stop' | 'start' | 'restart' | 'signal';
  /** For action signal: SIGHUP etc. */
  signal?: string;
  /** A service's environment, working directory, user and readiness (the argv is in args). */
  run?: Pick<ServiceModel, 'env' | 'cwd' | 'user' | 'ready'>;
}

export interface Plan {
  lab: string;
  instance: string;
  file: string;
  namespaces: { node: string; ns: string }[];
  /** Stages whose apply is included, in order. */
  stages: string[];
  steps: Step[];
  /** Per node with tables: its rt_tables, which `up` writes as /etc/netns/NS/iproute2/rt_tables. */
  tableNames?: TableNames[];
}

/**
 * The last line of defence: every word of an ip / tc batch line, and every
 * sysctl assignment, is inert in its consumer's grammar. The resolver reports
 * bad lab content with its position long before; reaching this is a bug.
 */
export function assertInert(s: Step): void {
  const bad =
    s.tool === 'ip' || s.tool === 'tc'
      ? s.args.find((a) => !BATCH_TOKEN.test(a))
      : s.tool === 'sysctl'
        ? s.args.find((a) => {
            const i = a.indexOf('=');
            return i < 0 || !SYSCTL_KEY.test(a.slice(0, i)) || !SYSCTL_VALUE.test(a.slice(i + 1));
          })
        : undefined;
  if (bad !== undefined)
    throw new Error(
      `internal: refusing to run a ${s.tool} step with the word '${oneLine(bad)}'${s.at ? ` (from ${s.at.file}:${s.at.line}:${s.at.col})` : ''}`,
    );
}
