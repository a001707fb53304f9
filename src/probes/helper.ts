// The probe agent: one long-lived process per lab node (started in the node's
// namespace through nsenter), which listens, connects and sends for tcp, udp
// and flows probes. One process per node instead of one per probe: Node's
// start-up (~50 ms) was most of a probe's time. Standalone: imports only node
// built-ins. Speaks JSON lines: requests on stdin, answers and events on stdout;
// exits when stdin closes (nslab is gone).
//   {id, op: 'listen', proto, port}           -> {id, ok} | {id, error}
//       tcp: accept and greet; udp: echo each datagram
//   {id, op: 'unlisten', proto, port}         -> {id, ok}
//   {id, op: 'connect', host, port, bind, timeout}
//       -> {id, outcome: connected|refused|timeout|unreachable|error, local, lport, error, ms}
//       with talk (send: base64, or none; match: a regex source; readMs): once connected, sends, then reads until
//       the regex matches the bytes read (latin1), the server ends, or readMs -> ... received (base64), ended
//   {id, op: 'udp', host, port, bind, timeout, token, send} -> {id, outcome: answered|timeout|error, lport, ms, received}
//   {id, op: 'http', host, port, bind, timeout, method, path, headers, body, readMs}
//       -> {id, outcome (as connect), local, lport, status, headers: {name: value}, body (base64), ended}
//   {id, op: 'flows', proto, port, count, hosts} -> {id, flows: [{lport, host}]}
//   {id, op: 'sink', proto, port}             -> {id, ok}       (receive a bulk transfer, counting bytes)
//   {id, op: 'sunk', proto, port, timeout, quiet} -> {id, bytes, seconds, total}
//       the count after the omitted start, and in all, once the sender is done (udp: nothing came for `quiet` ms);
//       closes it
//   {id, op: 'bulk', proto, host, port, ms, timeout} -> {id, outcome: sent|refused|timeout|unreachable|error, bytes}
//   event: {ev: 'peer', proto, port, remote, rport}   (a listener's peer)
import { createSocket } from 'node:dgram';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { createInterface } from 'node:readline';

type Req = {
  id: number;
  op: string;
  proto?: string;
  port?: number;
  host?: string;
  bind?: string;
  timeout?: number;
  token?: string;
  count?: number;
  hosts?: string[];
  ms?: number;
  quiet?: number;
  talk?: boolean;
  send?: string;
  match?: string;
  readMs?: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
};

const say = (o: unknown): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};
const family = (host: string) => (host.includes(':') ? 'udp6' : 'udp4');
const bindArg = (b: string | undefined) => (b && b !== '-' ? b : undefined);
/**
 * A listener, shared by the probes that use its port at the same time (tests run side
 * by side): closed when the last of them is done. `ready` settles once it is bound.
 */
interface Listener {
  close: (done: () => void) => void;
  uses: number;
  ready: Promise<void>;
}
const listeners = new Map<string, Listener>();
/**
 * A timeout is declared only after the I/O already waiting has been handled: Node runs
 * due timers before it polls, so an agent that got no CPU for longer than its wait
 * would otherwise call "timeout" on an answer sitting in its socket (a busy machine).
 */
const late = (f: () => void) => setImmediate(f);

function listen(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  let l = listeners.get(key);
  if (!l) {
    let bound!: () => void, failed!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      bound = res;
      failed = rej;
    });
    const fail = (e: Error) => {
      listeners.delete(key);
      failed(e);
    };
    if (r.proto === 'tcp') {
      const conns = new Set<TcpSocket>();
      const srv: Server = createServer((sock) => {
        say({
          ev: 'peer',
          proto: 'tcp',
          port: r.port,
          remote: sock.remoteAddress?.replace(/^::ffff:/, ''),
          rport: sock.remotePort,
        });
        conns.add(sock);
        sock.on('close', () => conns.delete(sock));
        sock.on('error', () => {});
        // read what the client sends: a socket that is never read never sees the client's FIN,
        // and never closes (server.close would then wait for it for ever)
        sock.resume();
        sock.setTimeout(5000, () => sock.destroy());
        sock.end('nslab\n');
      });
      srv.once('error', fail);
      l = {
        uses: 0,
        ready,
        close: (done) => {
          srv.close(() => done());
          for (const c of conns) c.destroy();
        },
      };
      srv.listen({ port: r.port, host: '::', ipv6Only: false }, bound);
    } else {
      const sock = createSocket({ type: 'udp6', ipv6Only: false });
      sock.on('message', (msg, rinfo) => {
        say({
          ev: 'peer',
          proto: 'udp',
          port: r.port,
          remote: rinfo.address.replace(/^::ffff:/, ''),
          rport: rinfo.port,
        });
        sock.send(msg, rinfo.port, rinfo.address);
      });
      sock.once('error', fail);
      l = { uses: 0, ready, close: (done) => sock.close(done) };
      sock.bind(r.port, '::', bound);
    }
    listeners.set(key, l);
  }
  l.uses++;
  l.ready.then(
    () => say({ id: r.id, ok: true }),
    (e: Error) => say({ id: r.id, error: e.message }),
  );
}

function unlisten(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  const l = listeners.get(key);
  if (!l || --l.uses > 0) return say({ id: r.id, ok: true });
  listeners.delete(key);
  l.close(() => say({ id: r.id, ok: true }));
}

/** A failed tcp connect, as a probe's outcome. */
const connectOutcome = (e: NodeJS.ErrnoException) =>
  e.code === 'ECONNREFUSED'
    ? 'refused'
    : e.code === 'ETIMEDOUT'
      ? 'timeout'
      : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH'
        ? 'unreachable'
        : 'error';

/**
 * The client binds a local port of its choosing, so that its SYN is known by that port
 * in the captures whatever happens (Node forgets the port of a refused connection), and
 * another test's connection to the same listener is never taken for this one's.
 */
function tcpConnect(r: Req, tries = 0): void {
  const t0 = performance.now();
  const lport = 32768 + Math.floor(Math.random() * 28232); // Linux's ephemeral range
  const sock = connect({
    host: r.host!,
    port: r.port!,
    localAddress: bindArg(r.bind),
    localPort: lport,
    timeout: r.timeout,
  });
  let done = false;
  // talk: the time to connect (the round trip nslab notes), and what the exchange gave
  let connectMs: number | undefined;
  let talked: Record<string, unknown> | undefined;
  const finish = (outcome: string, error?: string) => {
    if (done) return;
    done = true;
    say({
      id: r.id,
      outcome,
      local: sock.localAddress ?? bindArg(r.bind),
      lport,
      error,
      ms: connectMs ?? performance.now() - t0,
      ...talked,
    });
    sock.destroy();
  };
  sock.on('connect', () => {
    if (!r.talk) {
      sock.write('nslab\n');
      return finish('connected');
    }
    connectMs = performance.now() - t0;
    sock.setTimeout(0);
    talk(sock, r, (received, ended, error) => {
      talked = { received: received.toString('base64'), ended };
      finish('connected', error);
    });
  });
  sock.on('timeout', () => late(() => finish('timeout')));
  sock.on('error', (e: NodeJS.ErrnoException) => {
    if (connectMs !== undefined) return; // connected: the exchange reports it
    if (e.code === 'EADDRINUSE' && tries < 5 && !done) {
      done = true;
      sock.destroy();
      return tcpConnect(r, tries + 1);
    } // that port is taken here: another
    finish(connectOutcome(e), e.code ?? e.message);
  });
}

/** At most this much of an answer is kept: a probe judges a reply, it does not download. */
const KEEP = 64 * 1024;

/**
 * A connected client's exchange: sends the payload (if any), then reads until the regex matches what came (each
 * byte one character), the server ends its side, the connection fails, or readMs is over.
 */
function talk(
  sock: TcpSocket,
  r: Req,
  done: (received: Buffer, ended: 'matched' | 'closed' | 'waited' | 'reset', error?: string) => void,
): void {
  const got: Buffer[] = [];
  let size = 0;
  let over = false;
  const re = r.match !== undefined ? new RegExp(r.match) : undefined;
  const end = (how: 'matched' | 'closed' | 'waited' | 'reset', error?: string) => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    done(Buffer.concat(got), how, error);
  };
  const timer = setTimeout(() => late(() => end('waited')), r.readMs ?? 1000);
  sock.on('data', (b: Buffer) => {
    if (size < KEEP) got.push(b.subarray(0, KEEP - size));
    size += b.length;
    if (re?.test(Buffer.concat(got).toString('latin1'))) end('matched');
  });
  sock.on('end', () => end('closed'));
  sock.on('error', (e: NodeJS.ErrnoException) => end('reset', e.code ?? e.message));
  if (r.send) sock.write(Buffer.from(r.send, 'base64'));
}

/** An HTTP request by Node's client, from a local port of our choosing (as tcp's, for the captures). */
function http(r: Req, tries = 0): void {
  const t0 = performance.now();
  const lport = 32768 + Math.floor(Math.random() * 28232);
  let done = false;
  let connectMs: number | undefined;
  let local: string | undefined;
  const answer: Record<string, unknown> = {};
  const finish = (outcome: string, error?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    const ms = connectMs ?? performance.now() - t0;
    say({ id: r.id, outcome, local: local ?? bindArg(r.bind), lport, error, ms, ...answer });
    req.destroy();
  };
  const body = r.body !== undefined ? Buffer.from(r.body, 'utf8') : undefined;
  const req = httpRequest({
    host: r.host,
    port: r.port,
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...r.headers },
    localAddress: bindArg(r.bind),
    localPort: lport,
    agent: false,
  });
  // the connection first, within the network's wait; then the answer, within the application's
  let timer = setTimeout(() => late(() => finish('timeout')), r.timeout);
  req.on('socket', (sock) =>
    sock.on('connect', () => {
      connectMs = performance.now() - t0;
      local = sock.localAddress;
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          late(() => {
            answer.ended = 'waited';
            finish('connected');
          }),
        r.readMs ?? 1000,
      );
    }),
  );
  req.on('response', (res) => {
    answer.status = res.statusCode;
    const headers: Record<string, string> = {};
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
      const name = res.rawHeaders[i]!.toLowerCase();
      headers[name] = name in headers ? `${headers[name]}, ${res.rawHeaders[i + 1]}` : res.rawHeaders[i + 1]!;
    }
    answer.headers = headers;
    const got: Buffer[] = [];
    let size = 0;
    res.on('data', (b: Buffer) => {
      if (size < KEEP) got.push(b.subarray(0, KEEP - size));
      size += b.length;
      answer.body = Buffer.concat(got).toString('base64');
    });
    res.on('end', () => {
      answer.body = Buffer.concat(got).toString('base64');
      answer.ended = 'closed';
      finish('connected');
    });
    res.on('error', () => {});
  });
  req.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE' && tries < 5 && !done && connectMs === undefined) {
      done = true;
      clearTimeout(timer);
      req.destroy();
      return http(r, tries + 1);
    }
    if (connectMs !== undefined) {
      answer.ended = 'reset';
      return finish('connected', e.code ?? e.message);
    }
    finish(connectOutcome(e), e.code ?? e.message);
  });
  req.end(body);
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
    try {
      lport = sock.address().port;
    } catch {
      /* never bound */
    }
    say({ id: r.id, lport, ms: performance.now() - t0, ...o });
    sock.close();
  };
  const timer = setTimeout(() => late(() => finish({ outcome: 'timeout' })), r.timeout);
  sock.on('message', (msg) => finish({ outcome: 'answered', received: msg.subarray(0, KEEP).toString('base64') }));
  sock.on('error', (e) => finish({ outcome: 'error', error: e.message }));
  const payload = r.send !== undefined ? Buffer.from(r.send, 'base64') : `nslab probe ${r.token ?? ''}\n`;
  sock.bind(0, bindArg(r.bind), () => sock.send(payload, r.port, r.host));
}

function flows(r: Req): void {
  const got: { lport: number; host: string }[] = [];
  let pending = r.count!;
  const finish = () => {
    if (--pending === 0) say({ id: r.id, flows: got });
  };
  for (let i = 0; i < r.count!; i++) {
    const host = r.hosts![i % r.hosts!.length]!;
    if (r.proto === 'udp') {
      const sock = createSocket(family(host));
      sock.on('error', () => {
        sock.close();
        finish();
      });
      sock.bind(0, () => {
        got.push({ lport: sock.address().port, host });
        // three datagrams a flow, so that each flow's stickiness can be seen
        let sent = 0;
        const send = () =>
          sock.send('nslab flow\n', r.port, host, () => (++sent < 3 ? setTimeout(send, 5) : (sock.close(), finish())));
        send();
      });
    } else {
      const sock = connect({ host, port: r.port!, timeout: r.timeout ?? 2000 });
      sock.on('connect', () => {
        got.push({ lport: sock.localPort!, host });
        sock.end('nslab flow\n');
      });
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
interface Sink {
  bytes: number;
  first?: number;
  last?: number;
  gap: number;
  samples: [number, number][];
  open: number;
  ended: Promise<void>;
  close: () => void;
}
const sinks = new Map<string, Sink>();
// udp: the transfer is over once nothing came for this long after the sender is done: the lab's wait
// rule (its tbf queue bounds and frame times, `quiet`), and at least 3 of the longest gaps seen
const QUIET_MS = 100;
const quietMs = (st: Sink, quiet = QUIET_MS) => Math.max(quiet, 3 * st.gap);
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

function sink(r: Req): void {
  const key = `${r.proto}:${r.port}`;
  let endIt!: () => void;
  const st: Sink = {
    bytes: 0,
    gap: 0,
    samples: [],
    open: 0,
    ended: new Promise((res) => (endIt = res)),
    close: () => {},
  };
  const count = (n: number) => {
    const t = performance.now();
    if (st.last !== undefined) st.gap = Math.max(st.gap, t - st.last);
    st.first ??= t;
    st.last = t;
    st.bytes += n;
    st.samples.push([t, st.bytes]);
  };
  const fail = (e: Error) => {
    sinks.delete(key);
    say({ id: r.id, error: e.message });
  };
  if (r.proto === 'tcp') {
    const srv = createServer((sock) => {
      st.open++;
      sock.on('data', (b: Buffer) => count(b.length));
      sock.on('error', () => {});
      sock.on('close', () => {
        if (--st.open === 0) endIt();
      });
    });
    srv.once('error', fail);
    st.close = () => srv.close();
    srv.listen({ port: r.port, host: '::', ipv6Only: false }, () => say({ id: r.id, ok: true }));
  } else {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (msg) => count(msg.length));
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
  // nothing arrived at all: no transfer to wait for; a reset that never arrives (the path broke) is waited for no
  // longer than the timeout
  if (r.proto === 'udp') {
    // the sender is done: what the links' queues still hold arrives until a quiet spell, counted from
    // now if nothing came yet (a slow link's first datagram may still be on its way)
    const t0 = performance.now();
    const until = t0 + (r.timeout ?? 1000);
    for (;;) {
      const left = Math.min(Math.max(t0, st.last ?? 0) + quietMs(st, r.quiet), until) - performance.now();
      if (left <= 0) break;
      await sleep(left);
    }
  } else if (st.bytes > 0 || st.open > 0) await Promise.race([st.ended, sleep(r.timeout ?? 1000)]);
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
      if (performance.now() >= until) {
        sock.close();
        return answer('sent');
      }
      let left = 32;
      const one = () =>
        sock.send(chunk, r.port, r.host, (e) => {
          if (!e) sent += chunk.length;
          if (--left === 0) setImmediate(burst);
        });
      for (let i = 0; i < 32; i++) one();
    };
    sock.on('error', (e) => {
      sock.close();
      answer('error', e.message);
    });
    burst();
    return;
  }
  const sock = connect({ host: r.host!, port: r.port!, timeout: r.timeout });
  let done = false;
  const finish = (outcome: string, error?: string) => {
    if (!done) {
      done = true;
      answer(outcome, error);
    }
  };
  sock.on('timeout', () =>
    late(() => {
      if (!done) {
        sock.destroy();
        finish('timeout');
      }
    }),
  );
  sock.on('error', (e: NodeJS.ErrnoException) => finish(connectOutcome(e), e.code ?? e.message));
  sock.on('connect', () => {
    sock.setTimeout(0);
    const until = performance.now() + r.ms!;
    // a reset, not an orderly end: what the socket buffers still hold would keep the transfer going
    // for seconds on a slow link; the receiver's count stops at the last byte that arrived. At the
    // deadline, by a timer: on a slow link the next 'drain' may come long after it
    const stop = () => {
      if (!done) {
        clearTimeout(deadline);
        sock.resetAndDestroy();
        finish('sent');
      }
    };
    const deadline = setTimeout(stop, r.ms);
    const pump = () => {
      while (performance.now() < until) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
      stop();
    };
    pump();
  });
}

const OPS: Record<string, (r: Req) => void> = {
  listen,
  unlisten,
  connect: tcpConnect,
  udp: udpExchange,
  http,
  flows,
  sink,
  sunk: (r) => void sunk(r),
  bulk,
};

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let r: Req;
    try {
      r = JSON.parse(line) as Req;
    } catch {
      return;
    }
    const op = OPS[r.op];
    if (!op) return say({ id: r.id, error: `unknown op ${r.op}` });
    try {
      op(r);
    } catch (e) {
      say({ id: r.id, error: (e as Error).message });
    }
  })
  .on('close', () => process.exit(0));
say({ ready: true });
