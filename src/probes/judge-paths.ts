// Assertions that read the reconstructed paths: path, reply-path, reply-via,
// symmetric, source, seen, not-seen. Shared by ping, tcp and udp.
//
// Each is judged at the place it names, from what was captured there; where
// that place saw nothing, the assertion fails as "not observed", never passes
// on evidence from elsewhere:
//   source      the request as the TARGET node received it
//   reply-via   the reply at the node named, and the interface it left by
//   symmetric   both directions end to end; without a request or a reply it cannot be judged
//   path/reply-path  the whole path; nothing seen is "not observed"
//   seen/not-seen    the interface named, in every node's capture
import { asymmetry, formatPath, type Hop } from '../capture/paths.js';
import type { ExpectT } from '../lab/schema.js';
import { check, notObserved, type Check } from './types.js';

function pathMatches(hops: Hop[], want: string[]): boolean {
  return (
    hops.length === want.length &&
    want.every((w, i) => {
      const [node, iface] = w.split(':');
      const h = hops[i]!;
      return h.node === node && (iface === undefined || h.in === iface || h.out === iface);
    })
  );
}

/** `target`: the node that owns the address the probe was sent to. */
export function pathChecks(expect: ExpectT, request: Hop[], reply: Hop[], seen: Set<string>, target: string): Check[] {
  const checks: Check[] = [];
  const wholePath = (name: string, hops: Hop[], want: string[] | undefined, what: string) => {
    if (!want) return;
    if (!hops.length) checks.push(notObserved(name, want.join(' -> '), undefined, `no ${what} was captured anywhere`));
    else checks.push(check(name, want.join(' -> '), formatPath(hops), pathMatches(hops, want)));
  };
  wholePath('path', request, expect.path, 'request');
  wholePath('reply-path', reply, expect['reply-path'], 'reply');
  if (expect['reply-via']) {
    const [node, iface] = expect['reply-via'].split(':');
    const at = reply.find((h) => h.node === node);
    if (!at) checks.push(notObserved('reply-via', expect['reply-via'], node, 'no reply was captured there'));
    else
      checks.push(check('reply-via', expect['reply-via'], `${node}:${at.out ?? '(did not leave)'}`, at.out === iface));
  }
  if (expect.symmetric !== undefined) {
    if (!request.length || !reply.length)
      checks.push(
        notObserved(
          'symmetric',
          expect.symmetric,
          undefined,
          `no ${request.length ? 'reply' : 'request'} was captured, so symmetry cannot be judged`,
        ),
      );
    else {
      const why = asymmetry(request, reply);
      checks.push(
        check(
          'symmetric',
          expect.symmetric,
          why === undefined ? 'true' : `false (${why})`,
          (why === undefined) === expect.symmetric,
        ),
      );
    }
  }
  if (expect.source !== undefined) {
    // as the target received it: its last hop there, after any NAT on the way
    const there = [...request].reverse().find((h) => h.node === target);
    if (!there)
      checks.push(
        notObserved(
          'source',
          expect.source,
          target,
          `the request never arrived there${request.length ? ` (last seen at ${request[request.length - 1]!.node})` : ''}`,
        ),
      );
    else checks.push(check('source', expect.source, `${there.src} (at ${target})`, there.src === expect.source));
  }
  for (const ref of expect.seen ?? []) checks.push(check(`seen ${ref}`, 'seen', seen.has(ref) ? 'seen' : 'not seen'));
  for (const ref of expect['not-seen'] ?? [])
    checks.push(check(`not-seen ${ref}`, 'not seen', seen.has(ref) ? 'seen' : 'not seen'));
  return checks;
}
