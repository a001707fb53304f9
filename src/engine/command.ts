// What a command is and what running it gives: shared by the runner and its workers.

export interface Command {
  argv: string[];
  /** Run inside this network namespace (nsenter --net), not the caller's. */
  ns?: string;
  /**
   * With ns: enter it as `ip netns exec` does, with the node's /etc/netns files over /etc (its table names); for user
   * programs.
   */
  etc?: boolean;
  input?: string;
  timeoutMs?: number;
  /** Started programs (services): added to nslab's environment. */
  env?: Record<string, string>;
  /** Started programs (services): the working directory. */
  cwd?: string;
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
