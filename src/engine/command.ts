// What a command is and what running it gives: shared by the runner and its workers.

export interface Command {
  argv: string[];
  /** Run inside this network namespace (nsenter --net), not the caller's. */
  ns?: string;
  input?: string;
  timeoutMs?: number;
  /** Not stopped on interruption: for unwinding, which must run to the end. */
  uninterruptible?: boolean;
}

export interface Result {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}
