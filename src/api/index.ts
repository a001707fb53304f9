// The API surface of nslab for test suites (re-exported by the package root).
export { Lab, type LabOf, type LabOptions, type LabSource } from './lab.js';
export { defineLab, type DefinedLab, type LabDefinition } from './define.js';
export type { LabNames, DefinedNames } from './names.js';
export { bundledLab } from './bundled.js';
export type { LabNode, LabService, NodeShell } from './node.js';
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
export type { ExplainRequest, Explanation } from '../run/explain.js';
export type { Why, Trace } from '../run/why.js';
export type { DeadService } from '../run/results.js';
