// The probe agent: one long-lived process per lab node (started in the node's
// namespace through nsenter), which listens, connects and sends for tcp, udp
// and flows probes. One process per node instead of one per probe: Node's
// start-up (~50 ms) was most of a probe's time. Standalone: imports only node
// built-ins. Speaks JSON lines: requests on stdin, answers and events on stdout;
// exits when stdin closes (nslab is gone).
//   {id, op: 'listen', proto, port}           -> {id, ok} | {id, error}   (tcp: accept and greet; udp: echo each datagram)
//   {id, op: 'unlisten', proto, port}         -> {id, ok}
//   {id, op: 'connect', host, port, bind, timeout} -> {id, outcome: connected|refused|timeout|unreachable|error, local, lport, error, ms}
//   {id, op: 'udp', host, port, bind, timeout, token} -> {id, outcome: answered|timeout|error, lport, ms}
//   {id, op: 'flows', proto, port, count, hosts} -> {id, flows: [{lport, host}]}
//   {id, op: 'sink', proto, port}             -> {id, ok}       (receive a bulk transfer, counting bytes)
//   {id, op: 'sunk', proto, port, timeout}    -> {id, bytes, seconds, total}   (the count after the omitted start, and in all, once the sender is done; closes it)
//   {id, op: 'bulk', proto, host, port, ms, timeout} -> {id, outcome: sent|refused|timeout|unreachable|error, bytes}
//   event: {ev: 'peer', proto, port, remote, rport}   (a listener's peer)
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';

type Req = { id: number; op: string; proto?: string; port?: number; host?: string; bind?: string; timeout?: number; token?: string; count?: number; hosts?: string[]; ms?: number };

const say = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + "\n"); };
const family = (host: string) => (host.includes(':') ? 'udp6' : 'udp4');
const bindArg = (b: string | undefined) => (b && b !== '-' ? b : undefined);
const listeners = new Map<string, Server | Socket>();
/**
 * A timeout is declared only after the I/O already waiting has been handled: Node runs
 * due timers before it polls, so an agent that got no CPU for longer than its wait
 * would otherwise call "timeout" on an answer sitting in its socket (a busy machine).
 */
const late = (f: () => void) => setImmediate(f);

function listen(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  if (listeners.has(key)) return say({ id: r.id, ok: true });
  const fail = (e: Error) => { listeners.delete(key); say({ id: r.id, error: e.message }); };
  if (r.proto === 'tcp') {
    const srv = createServer((sock) => {
      say({ ev: 'peer', proto: 'tcp', port: r.port, remote: sock.remoteAddress?.replace(/^::ffff:/, ''), rport: sock.remotePort });
      sock.on('error', () => {});
      sock.end('nslab\n');
    });
    srv.once('error', fail);
    listeners.set(key, srv);
    srv.listen({ port: r.port, host: '::', ipv6Only: false }, () => say({ id: r.id, ok: true }));
  } else {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (msg, rinfo) => {
      say({ ev: 'peer', proto: 'udp', port: r.port, remote: rinfo.address.replace(/^::ffff:/, ''), rport: rinfo.port });
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.once('error', fail);
    listeners.set(key, sock);
    sock.bind(r.port, '::', () => say({ id: r.id, ok: true }));
  }
}

function unlisten(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  const l = listeners.get(key);
  listeners.delete(key);
  if (!l) return say({ id: r.id, ok: true });
  l.close(() => say({ id: r.id, ok: true }));
}

function tcpConnect(r: Req): void {
  const t0 = performance.now();
  const sock = connect({ host: r.host!, port: r.port!, localAddress: bindArg(r.bind), timeout: r.timeout });
  let done = false;
  const finish = (outcome: string, error?: string) => {
    if (done) return;
    done = true;
    say({ id: r.id, outcome, local: sock.localAddress, lport: sock.localPort, error, ms: performance.now() - t0 });
    sock.destroy();
  };
  sock.on('connect', () => { sock.write('nslab\n'); finish('connected'); });
  sock.on('timeout', () => late(() => finish('timeout')));
  sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ETIMEDOUT' ? 'timeout' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'unreachable' : 'error', e.code ?? e.message));
}

function udpExchange(r: Req): void {
  const t0 = performance.now();
  const sock = createSocket(family(r.host!));
  let done = false;
  const finish = (o: Record<string, unknown>) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    let lport: number | undefined;
    try { lport = sock.address().port; } catch { /* never bound */ }
    say({ id: r.id, lport, ms: performance.now() - t0, ...o });
    sock.close();
  };
  const timer = setTimeout(() => late(() => finish({ outcome: 'timeout' })), r.timeout);
  sock.on('message', () => finish({ outcome: 'answered' }));
  sock.on('error', (e) => finish({ outcome: 'error', error: e.message }));
  sock.bind(0, bindArg(r.bind), () => sock.send(`nslab probe ${r.token ?? ''}\n`, r.port!, r.host!));
}

function flows(r: Req): void {
  const got: { lport: number; host: string }[] = [];
  let pending = r.count!;
  const finish = () => { if (--pending === 0) say({ id: r.id, flows: got }); };
  for (let i = 0; i < r.count!; i++) {
    const host = r.hosts![i % r.hosts!.length]!;
    if (r.proto === 'udp') {
      const sock = createSocket(family(host));
      sock.on('error', () => { sock.close(); finish(); });
      sock.bind(0, () => {
        got.push({ lport: sock.address().port, host });
        // three datagrams a flow, so that each flow's stickiness can be seen
        let sent = 0;
        const send = () => sock.send('nslab flow\n', r.port!, host, () => (++sent < 3 ? setTimeout(send, 5) : (sock.close(), finish())));
        send();
      });
    } else {
      const sock = connect({ host, port: r.port!, timeout: r.timeout ?? 2000 });
      sock.on('connect', () => { got.push({ lport: sock.localPort!, host }); sock.end('nslab flow\n'); });
      sock.on('close', finish);
      sock.on('error', () => {});
      sock.on('timeout', () => sock.destroy());
    }
  }
}

// Throughput: the receiver counts bytes from the first to the last that arrived (the rate the lab let
// through, as iperf3's receiver reports it); any fraction of a second (iperf3 3.12 takes whole seconds).
// The first quarter of the transfer is left out of the rate, as iperf3 --omit does: a tbf link's burst
// (20 ms of its rate) arrives at once there, and TCP's slow start, which in 0.2 s read as 5-10% above the rate.
const OMIT = 0.25;
interface Sink { bytes: number; first?: number; last?: number; samples: [number, number][]; open: number; ended: Promise<void>; close: () => void }
const sinks = new Map<string, Sink>();
const QUIET_MS = 100; // udp: the transfer is over once nothing came for this long (a tbf queue holds at most 50 ms)

function sink(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  let endIt!: () => void;
  const st: Sink = { bytes: 0, samples: [], open: 0, ended: new Promise((res) => (endIt = res)), close: () => {} };
  const count = (n: number) => { const t = performance.now(); st.first ??= t; st.last = t; st.bytes += n; st.samples.push([t, st.bytes]); };
  const fail = (e: Error) => { sinks.delete(key); say({ id: r.id, error: e.message }); };
  if (r.proto === 'tcp') {
    const srv = createServer((sock) => {
      st.open++;
      sock.on('data', (b: Buffer) => count(b.length));
      sock.on('error', () => {});
      sock.on('close', () => { if (--st.open === 0) endIt(); });
    });
    srv.once('error', fail);
    st.close = () => srv.close();
    srv.listen({ port: r.port, host: '::', ipv6Only: false }, () => say({ id: r.id, ok: true }));
  } else {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    let quiet: NodeJS.Timeout | undefined;
    sock.on('message', (msg) => { count(msg.length); clearTimeout(quiet); quiet = setTimeout(endIt, QUIET_MS); });
    sock.once('error', fail);
    st.close = () => sock.close();
    sock.bind(r.port, '::', () => say({ id: r.id, ok: true }));
  }
  sinks.set(key, st);
}

async function sunk(r: Req): Promise<void> {
  const key = `${r.proto}:${r.port}`;
  const st = sinks.get(key);
  if (!st) return say({ id: r.id, error: `no sink on ${key}` });
  sinks.delete(key);
  // nothing arrived at all: no transfer to wait for; a reset that never arrives (the path broke) is waited for no longer than the timeout
  if (st.bytes > 0 || st.open > 0) await Promise.race([st.ended, new Promise((res) => setTimeout(res, r.timeout ?? 1000))]);
  st.close();
  if (st.first === undefined) return say({ id: r.id, bytes: 0, seconds: 0, total: 0 });
  // the bytes that arrived after the omitted start, over the time since
  const from = st.first + OMIT * (st.last! - st.first);
  const before = st.samples.filter(([t]) => t <= from).pop() ?? [st.first, 0];
  say({ id: r.id, bytes: st.bytes - before[1], seconds: (st.last! - before[0]) / 1000, total: st.bytes });
}

function bulk(r: Req): void {
  const chunk = Buffer.alloc(r.proto === 'udp' ? 1200 : 64 * 1024, 'nslab ');
  let sent = 0;
  const answer = (outcome: string, error?: string) => say({ id: r.id, outcome, bytes: sent, error });
  if (r.proto === 'udp') {
    const sock = createSocket(family(r.host!));
    const until = performance.now() + r.ms!;
    const burst = () => {
      if (performance.now() >= until) { sock.close(); return answer('sent'); }
      let left = 32;
      const one = () => sock.send(chunk, r.port!, r.host!, (e) => { if (!e) sent += chunk.length; if (--left === 0) setImmediate(burst); });
      for (let i = 0; i < 32; i++) one();
    };
    sock.on('error', (e) => { sock.close(); answer('error', e.message); });
    burst();
    return;
  }
  const sock = connect({ host: r.host!, port: r.port!, timeout: r.timeout });
  let done = false;
  const finish = (outcome: string, error?: string) => { if (!done) { done = true; answer(outcome, error); } };
  sock.on('timeout', () => late(() => { if (!done) { sock.destroy(); finish('timeout'); } }));
  sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'unreachable' : 'error', e.code ?? e.message));
  sock.on('connect', () => {
    sock.setTimeout(0);
    const until = performance.now() + r.ms!;
    const pump = () => {
      while (performance.now() < until) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
      // a reset, not an orderly end: what the socket buffers still hold would keep the transfer going
      // for seconds on a slow link; the receiver's count stops at the last byte that arrived
      sock.resetAndDestroy();
      finish('sent');
    };
    pump();
  });
}

const OPS: Record<string, (r: Req) => void> = { listen, unlisten, connect: tcpConnect, udp: udpExchange, flows, sink, sunk: (r) => void sunk(r), bulk };

createInterface({ input: process.stdin }).on('line', (line) => {
  let r: Req;
  try { r = JSON.parse(line) as Req; } catch { return; }
  const op = OPS[r.op];
  if (!op) return say({ id: r.id, error: `unknown op ${r.op}` });
  try { op(r); } catch (e) { say({ id: r.id, error: (e as Error).message }); }
}).on('close', () => process.exit(0));
say({ ready: true });
