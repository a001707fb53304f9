// Commands that may still be creating things are ended if this process exits
// before they do. vitest ends a worker whose main process is gone with
// process.exit, in the middle of whatever it was doing (a lab coming up, its
// unwinding): nothing of a lab may then be made behind the back of the lab's
// reaper, which removes what the lab's record names once this process is gone.
// Only 'exit' listeners run then, synchronously: a kill is all there is time for.

interface Killable {
  kill(signal: NodeJS.Signals): unknown;
}

const running = new Set<Killable>();
let listening = false;

/** Ends `child` with SIGKILL if this process exits while it runs; call the returned function once it has ended. */
export function endAtExit(child: Killable): () => void {
  if (!listening) {
    listening = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  running.add(child);
  return () => {
    running.delete(child);
  };
}
