// nslab's programmatic API: the same engine as the CLI, typed.
export { loadLab, checkLab, resolveTarget } from './lab/resolve.js';
export { loadLabFile, loadLabText } from './lab/load.js';
export type { LabModel, NodeModel, LinkModel, StageModel, TestModel, NodeConfig, Feature } from './lab/model.js';
export { LabSpec } from './lab/schema.js';
export type { LabSpecT, ExpectT } from './lab/schema.js';
export { buildPlan, buildStagePlan } from './plan/build.js';
export { renderScript, renderJson } from './plan/render.js';
export type { Plan, Step } from './plan/step.js';
// the test API: labs owned by the calling process, probes as typed calls (nslab/vitest adds matchers and useLab)
export {
  Lab,
  defineLab,
  bundledLab,
  type LabOptions,
  type LabSource,
  type LabDefinition,
  type LabOf,
  type DefinedLab,
  type LabNames,
  type DefinedNames,
  type LabNode,
  type LabService,
  type NodeShell,
  type ProbeResult,
  type ProbeOptions,
  type Expectation,
} from './api/index.js';
export type {
  PingOptions,
  TcpOptions,
  UdpOptions,
  RouteOptions,
  FlowsOptions,
  ExecOptions,
  ThroughputOptions,
  HttpOptions,
} from './api/index.js';
// the engine's own lab, for tools that manage labs (nslab's CLI uses it): status 'up' by default
export { Lab as EngineLab, type UpOptions } from './engine/lab.js';
export { RealRunner, RecordingRunner, type Runner, type Command, type Result } from './engine/runner.js';
export { kernelFeatures } from './engine/capabilities.js';
export { Evidence } from './capture/evidence.js';
export { readPcap, PcapReader, type Packet } from './capture/pcap.js';
export { pathOf, formatPath, asymmetry, type Hop } from './capture/paths.js';
export { PROBES, closeProbes } from './probes/index.js';
export type { Check, ProbeOutcome } from './probes/types.js';
export { runLab, checkStage, type RunOptions } from './run/suite.js';
export type { LabRun, TestResult } from './run/results.js';
export { junitReport } from './report/junit.js';
export { jsonReport } from './report/json.js';
export { tapReport } from './report/tap.js';
export {
  exportNode,
  finalNode,
  concatFiles,
  FORMATS,
  type ExportFile,
  type Format,
  type FinalNode,
} from './export/index.js';
export { takeSnapshot, checkSnapshot, readSnapshotFile, snapshotToLab, type Snapshot } from './import/index.js';
export { csvReport, scoreOf, CSV_COLUMNS } from './report/csv.js';
export { exerciseOf, checkedStage } from './lab/exercise.js';
export {
  LabFileError,
  JsonFileError,
  CommandError,
  EnvironmentError,
  UsageError,
  InterruptedError,
  NslabError,
  EXIT,
  type Problem,
  type JsonProblem,
} from './errors.js';
