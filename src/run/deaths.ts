// A test that ran while a service of the lab was dead fails, naming the
// service, how and when it ended and how its log ends; the log itself is kept
// with the run's artifacts (the lab's log directory goes with the lab), once
// per death however many tests report it.
import { oneLine } from '../errors.js';
import type { Death } from '../engine/liveness.js';
import { describeExit, keepLog, logTail, type KeepIn } from '../engine/service-logs.js';
import type { DeadService, TestResult } from './results.js';

const kept = new WeakMap<Death, string>();

export function deadService(d: Death, keepIn: (() => KeepIn) | undefined): DeadService {
  let tail: string[] = [];
  try {
    tail = logTail(d.log);
  } catch (e) {
    tail = [`(its log cannot be read: ${oneLine((e as Error).message)})`];
  }
  let log = kept.get(d);
  if (!log && keepIn) {
    try {
      log = keepLog(d.log, keepIn(), `${d.node}-${d.service}`);
      kept.set(d, log);
    } catch {
      /* the tail above is what there is */
    }
  }
  return {
    node: d.node,
    service: d.service,
    exit: d.exit ? describeExit(d.exit) : 'unknown (another nslab process started it)',
    at: d.at,
    tail,
    ...(log ? { log } : {}),
  };
}

/** Fails a result for the services found dead: they lead its reason, its checks stay as observed. */
export function failForDeaths(r: TestResult, deaths: Death[], keepIn: (() => KeepIn) | undefined): void {
  if (!deaths.length) return;
  r.status = 'failed';
  r.services = deaths.map((d) => deadService(d, keepIn));
  const lines = r.services.map(deadLine);
  r.reason = [...lines, ...(r.reason ? [r.reason] : [])].join('\n');
}

/** The line that leads a failure: `service 'svcd' of node 'server' exited (exit status 1) at ...: this test ran ...`. */
export function deadLine(s: DeadService): string {
  const how = s.exit.startsWith('unknown')
    ? 'is no longer running (another nslab process started it)'
    : `exited (${s.exit})`;
  return `service '${s.service}' of node '${s.node}' ${how} at ${s.at}: this test ran while it was not running`;
}
