// The API surface of nslab for test suites (re-exported by the package root).
export { Lab, type LabOptions, type LabSource } from './lab.js';
export { defineLab, type LabDefinition } from './define.js';
export { bundledLab } from './bundled.js';
export type { LabNode, NodeShell } from './node.js';
export type {
  ProbeResult,
  ProbeOptions,
  Expectation,
  PingOptions,
  TcpOptions,
  UdpOptions,
  RouteOptions,
  FlowsOptions,
  ExecOptions,
  ThroughputOptions,
  HttpOptions,
} from './probes.js';
export { matchers, type NslabMatchers } from './matchers.js';
