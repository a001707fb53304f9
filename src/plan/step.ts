// A plan is a list of steps: data, not actions. The engine batches and runs
// them; `nslab plan` prints them; tests compare them without root.
import type { Source } from '../lab/model.js';

export type Tool = 'ip' | 'tc' | 'sysctl' | 'nft' | 'service';
export type Phase = 'create' | 'configure' | 'services';

export interface Step {
  phase: Phase;
  /** Namespace the step runs in; null is the root namespace's `ip`, used only to create namespaces and veths inside them. */
  ns: string | null;
  node?: string;
  tool: Tool;
  /** ip/tc: one batch line; sysctl: key=value; nft: nft arguments; service: the program's argv. */
  args: string[];
  /** Standard input (nft rulesets). */
  input?: string;
  /** Where in the lab file the step comes from, for error messages. */
  at?: Source;
  /** The step that undoes this one, where deleting the namespace does not. */
  undo?: { tool: Tool; args: string[] };
  /** Service name, for service steps. */
  service?: string;
}

export interface Plan {
  lab: string;
  instance: string;
  file: string;
  namespaces: { node: string; ns: string }[];
  /** Stages whose apply is included, in order. */
  stages: string[];
  steps: Step[];
}
