// Labs that the API brought up in this process, taken down when a signal
// would end it (Ctrl-C in a test run, a CI job cancelled): first every lab
// down, then the signal's default action, so the process still ends by it.
// A process killed outright (SIGKILL) cannot unwind: its labs are recorded
// as `testing` by it, and each lab's reaper (reaper.ts) runs `nslab cleanup`
// for it once the process is gone.
interface Downable {
  down(): Promise<void>;
}

const live = new Set<Downable>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let unwinding = false;

function onSignal(sig: NodeJS.Signals): void {
  if (unwinding) return; // a second Ctrl-C must not cut the unwinding short
  unwinding = true;
  void Promise.allSettled([...live].map((l) => l.down())).then(() => {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.kill(process.pid, sig);
  });
}

export function track(lab: Downable): void {
  if (!live.size) for (const s of SIGNALS) process.on(s, onSignal);
  live.add(lab);
}

/** False when the lab was not (or no longer) tracked: it is down or going down. */
export function untrack(lab: Downable): boolean {
  if (!live.delete(lab)) return false;
  if (!live.size && !unwinding) for (const s of SIGNALS) process.off(s, onSignal);
  return true;
}
