// Probe options and results as the API types them: options from the same zod
// schema as the lab file (a misspelled key does not compile), results with
// the evidence the CLI reports.
import type { z } from 'zod';
import type { Evidence } from '../capture/evidence.js';
import type { Hop } from '../capture/paths.js';
import type { Expect, Probes, ProbeKind } from '../lab/schema.js';
import type { Check, ProbeOutcome } from '../probes/types.js';
import type { DeadService } from '../run/results.js';
import type { Why } from '../run/why.js';
import type { LabNames, Named } from './names.js';

export type ProbeOptions<K extends ProbeKind> = z.input<(typeof Probes)[K]>;
export type PingOptions = ProbeOptions<'ping'>;
export type TcpOptions = ProbeOptions<'tcp'>;
export type UdpOptions = ProbeOptions<'udp'>;
export type RouteOptions = ProbeOptions<'route'>;
export type FlowsOptions = ProbeOptions<'flows'>;
export type ExecOptions = ProbeOptions<'exec'>;
export type ThroughputOptions = ProbeOptions<'throughput'>;
export type HttpOptions = ProbeOptions<'http'>;
/** What a test may expect, as under `expect:` in a lab file. */
export type Expectation = z.input<typeof Expect>;

/** What one probe did: the checks of the expectation given (if any), the paths and the captures. */
export interface ProbeResult<K extends ProbeKind = ProbeKind, N extends LabNames = LabNames>
  extends Omit<ProbeOutcome, 'judge' | 'tracesFor'>, Named<N> {
  probe: K;
  /** The options as given (defaults not filled in). */
  options: ProbeOptions<K>;
  /** True when every check passed (no expectation given: no checks, true) and no service of the lab was dead. */
  ok: boolean;
  /**
   * The lab's services found dead when the probe ended (or found dead before and not reported by a probe yet), as
   * `nslab test` reports them: every matcher on this result fails naming them.
   */
  services: DeadService[];
  checks: Check[];
  /** The request's and the reply's hops, as captured (ping, tcp, udp). */
  request?: Hop[];
  reply?: Hop[];
  /** The paths written as the CLI shows them: `pc2:eth0 -> r1 -> server:eth1`. */
  requestPath?: string;
  replyPath?: string;
  evidence?: Evidence;
  facts: Record<string, string>;
  /** The checks that `expect` gives for what this probe observed, judged by the engine (nothing is sent again). */
  judge(expect: Expectation): Check[];
  /**
   * The kernel's why for a failure of `expect`, with its hint or "no fix found", as `nslab test` gives it for the
   * same test (asked of the lab as it is now); undefined where there is nothing to explain or the probe sends no
   * packet nslab follows (exec, flows, throughput).
   */
  why(expect: Expectation): Promise<Why[] | undefined>;
  /** Writes one pcap per node (private directory) and returns the files; the same files on a second call. */
  pcaps(): string[];
  /** Where the probe was called: file:line:col. */
  at: string;
}
