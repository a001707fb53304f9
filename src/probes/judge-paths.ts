// Assertions that read the reconstructed paths: path, reply-path, reply-via,
// symmetric, source, seen, not-seen. Shared by ping, tcp and udp.
import { asymmetry, formatPath, type Hop } from '../capture/paths.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Check } from './types.js';

function pathMatches(hops: Hop[], want: string[]): boolean {
  return hops.length === want.length && want.every((w, i) => {
    const [node, iface] = w.split(':');
    const h = hops[i]!;
    return h.node === node && (iface === undefined || h.in === iface || h.out === iface);
  });
}

export function pathChecks(expect: ExpectT, request: Hop[], reply: Hop[], seen: Set<string>): Check[] {
  const checks: Check[] = [];
  if (expect.path) checks.push(check('path', expect.path.join(' -> '), formatPath(request), pathMatches(request, expect.path)));
  if (expect['reply-path']) checks.push(check('reply-path', expect['reply-path'].join(' -> '), formatPath(reply), pathMatches(reply, expect['reply-path'])));
  if (expect['reply-via']) {
    const [node, iface] = expect['reply-via'].split(':');
    const at = reply.find((h) => h.node === node);
    const observed = at ? `${node}:${at.out ?? '(did not leave)'}` : `no reply seen at ${node}`;
    checks.push(check('reply-via', expect['reply-via'], observed, at?.out === iface));
  }
  if (expect.symmetric !== undefined) {
    const why = !request.length ? 'no request seen' : !reply.length ? 'no reply seen' : asymmetry(request, reply);
    const sym = why === undefined;
    checks.push(check('symmetric', expect.symmetric, sym ? 'true' : `false (${why})`, sym === expect.symmetric));
  }
  if (expect.source !== undefined) {
    const last = request[request.length - 1];
    checks.push(check('source', expect.source, last ? `${last.src} (at ${last.node})` : 'no request seen', last?.src === expect.source));
  }
  for (const ref of expect.seen ?? []) checks.push(check(`seen ${ref}`, 'seen', seen.has(ref) ? 'seen' : 'not seen'));
  for (const ref of expect['not-seen'] ?? []) checks.push(check(`not-seen ${ref}`, 'not seen', seen.has(ref) ? 'seen' : 'not seen'));
  return checks;
}
