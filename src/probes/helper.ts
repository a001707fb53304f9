// Runs inside a lab node (via nsenter) as the far or near end of a tcp/udp
// probe. Standalone: imports only node built-ins, so it starts fast. Prints
// "ready" when listening, and one JSON line per result.
//   listen tcp|udp PORT            accept/echo until killed; prints {"remote":...} per peer
//   connect HOST PORT BIND TIMEOUT tcp connect; {"outcome":"connected|refused|timeout|error",...}
//   udp HOST PORT BIND TIMEOUT [TOKEN]  send a datagram (carrying TOKEN), wait for the echo; {"outcome":"answered|timeout",...}
//   flows udp|tcp PORT COUNT HOSTS  COUNT flows from distinct source ports, spread over HOSTS (comma-separated)
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const family = (host: string) => (host.includes(':') ? 'udp6' : 'udp4');
const bindArg = (b: string | undefined) => (b && b !== '-' ? b : undefined);

if (mode === 'listen') {
  const [proto, port] = args;
  if (proto === 'tcp') {
    const srv = createServer((sock) => {
      say({ remote: sock.remoteAddress, rport: sock.remotePort });
      sock.on('error', () => {});
      sock.end('nslab\n');
    });
    srv.listen({ port: Number(port), host: '::', ipv6Only: false }, () => process.stdout.write('ready\n'));
  } else {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (msg, rinfo) => {
      say({ remote: rinfo.address.replace(/^::ffff:/, ''), rport: rinfo.port });
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.bind(Number(port), '::', () => process.stdout.write('ready\n'));
  }
} else if (mode === 'connect') {
  const [host, port, bind, timeout] = args;
  const sock = connect({ host: host!, port: Number(port), localAddress: bindArg(bind), timeout: Number(timeout) });
  const done = (outcome: string, error?: string) => {
    say({ outcome, local: sock.localAddress, lport: sock.localPort, error });
    sock.destroy();
    process.exit(0);
  };
  sock.on('connect', () => { sock.write('nslab\n'); done('connected'); });
  sock.on('timeout', () => done('timeout'));
  sock.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ETIMEDOUT' ? 'timeout' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'unreachable' : 'error', e.code ?? e.message));
} else if (mode === 'udp') {
  const [host, port, bind, timeout, token] = args;
  const sock = createSocket(family(host!));
  const timer = setTimeout(() => { say({ outcome: 'timeout', lport: sock.address().port }); process.exit(0); }, Number(timeout));
  sock.on('message', () => { clearTimeout(timer); say({ outcome: 'answered', lport: sock.address().port }); process.exit(0); });
  sock.on('error', (e) => { say({ outcome: 'error', error: e.message }); process.exit(0); });
  sock.bind(0, bindArg(bind), () => sock.send(`nslab probe ${token ?? ''}\n`, Number(port), host!));
} else if (mode === 'flows') {
  const [proto, port, count, hosts] = args;
  const targets = hosts!.split(',');
  const flows: { lport: number; host: string }[] = [];
  let pending = Number(count);
  const finish = () => { if (--pending === 0) { say({ flows }); process.exit(0); } };
  for (let i = 0; i < Number(count); i++) {
    const host = targets[i % targets.length]!;
    if (proto === 'udp') {
      const sock = createSocket(family(host));
      sock.bind(0, () => {
        flows.push({ lport: sock.address().port, host });
        // three datagrams a flow, so that each flow's stickiness can be seen
        let sent = 0;
        const send = () => sock.send('nslab flow\n', Number(port), host, () => (++sent < 3 ? setTimeout(send, 5) : (sock.close(), finish())));
        send();
      });
    } else {
      const sock = connect({ host, port: Number(port), timeout: 2000 });
      sock.on('connect', () => { flows.push({ lport: sock.localPort!, host }); sock.end('nslab flow\n'); });
      sock.on('close', finish);
      sock.on('error', () => {});
      sock.on('timeout', () => sock.destroy());
    }
  }
} else {
  process.stderr.write(`nslab probe helper: unknown mode ${mode}\n`);
  process.exit(2);
}
