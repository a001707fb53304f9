// The checked lab: everything resolved and validated, ready for the planner.
import type { Cidr } from './addr.js';
import type { ExpectT, ProbeKind } from './schema.js';

export interface Source {
  file: string;
  line: number;
  col: number;
}

export interface InterfaceModel {
  name: string;
  addresses: Cidr[];
  mtu?: number;
  mac?: string;
  up: boolean;
}

/** A route or rule: its checked words, its address family (an IPv6 one runs as `ip -6`), the text written and where. */
export interface Line {
  args: string[];
  family: 4 | 6;
  text: string;
  at: Source;
}

export interface ServiceModel {
  name: string;
  argv: string[];
  at: Source;
  /** Added to nslab's environment. */
  env?: Record<string, string>;
  /** Absolute (a relative one is resolved from the lab file's folder). */
  cwd?: string;
  /** A user name or uid of the machine (checked as the lab comes up). */
  user?: string;
  ready?: ReadyModel;
}

/** What a stage does to a service declared before it (its node's, or an earlier stage's). */
export interface ServiceAction {
  action: 'stop' | 'start' | 'restart' | 'signal';
  service: string;
  /** signal: its name, SIGHUP. */
  signal?: string;
  /** start, restart: the service as declared. */
  def?: ServiceModel;
  at: Source;
}

/** When a service is ready, and how long to wait for it. */
export type ReadyModel = (
  { kind: 'tcp' | 'udp'; port: number } | { kind: 'log'; pattern: string } | { kind: 'command'; argv: string[] }
) & { timeoutMs: number };

/** A file only its node sees at its path (`files:`): written into the node's own mount namespace. */
export interface FileModel {
  path: string;
  content: string;
  mode: number;
  /** A user name or uid, looked up on the machine at bring-up; root if absent. */
  owner?: string;
  at: Source;
}

/** Settings that a node's base configuration and a stage's apply have in common. */
export interface NodeConfig {
  addresses: { iface: string; cidr: Cidr }[];
  interfaces: { name: string; mtu?: number; mac?: string }[];
  sysctl: [string, string][];
  routes: Line[];
  rules: Line[];
  nftables?: { text: string; at: Source };
  masquerade: string[];
  services: ServiceModel[];
  files: FileModel[];
  /** In a stage's apply: done to services after the network settings, before its new services start. */
  serviceActions?: ServiceAction[];
  up: string[];
  down: string[];
}

export interface NodeModel {
  name: string;
  kind: 'host' | 'bridge';
  /** Every interface the node has: created by links, plus lo. */
  interfaces: InterfaceModel[];
  tables: Record<string, number>;
  config: NodeConfig;
}

export interface Endpoint {
  node: string;
  iface: string;
}

export interface LinkModel {
  a: Endpoint;
  b: Endpoint;
  mtu?: number;
  rate?: string;
  delay?: string;
  loss?: string;
  at: Source;
}

export type Feature = 'netem' | 'tbf' | 'htb';

export interface TestModel {
  name: string;
  probe: ProbeKind;
  spec: Record<string, unknown>;
  expect: ExpectT;
  requires: Feature[];
  /** Shown when the test fails in `check`. */
  hint?: string;
  at: Source;
}

export interface StageModel {
  name: string;
  description?: string;
  /** The stage's apply is the fix of an exercise (`nslab exercise` removes it). */
  solution: boolean;
  apply: Map<string, NodeConfig>;
  tests: TestModel[];
  at: Source;
}

export interface LabModel {
  name: string;
  description?: string;
  file: string;
  nodes: NodeModel[];
  links: LinkModel[];
  stages: StageModel[];
  /** Kernel features that bringing the lab up needs (qdiscs on its links). */
  needs: Feature[];
}

export function emptyConfig(): NodeConfig {
  return {
    addresses: [],
    interfaces: [],
    sysctl: [],
    routes: [],
    rules: [],
    masquerade: [],
    services: [],
    files: [],
    up: [],
    down: [],
  };
}
