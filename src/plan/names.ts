// Names of what nslab creates. The scheme is injective: every namespace name
// maps back to exactly one (instance, node), so no two labs, nodes or instances
// can ever produce the same name, and `cleanup` can tell whose a namespace is.
//
//   lab brought up by hand:   nslab-<lab>.<node>         (nslab-dual-nic-reply-path.server)
//   concurrent instance:      nslab-<lab>.<id>.<node>    (nslab-dual-nic-reply-path.k3x9q2.server)
//
// Lab names are [a-z0-9-], ids [a-z0-9], node names [a-z][a-z0-9_-]: none can
// contain the '.' that separates them, so the split is unambiguous.
import { UsageError } from '../errors.js';
import { NODE_NAME } from '../lab/grammar.js';

export const PREFIX = 'nslab-';

export const INSTANCE_ID = /^[a-z0-9]{1,12}$/;
/** An instance: a lab name, optionally `.id`. */
export const INSTANCE = /^[a-z0-9][a-z0-9-]{0,31}(\.[a-z0-9]{1,12})?$/;

/**
 * The instance name identifies one running copy of a lab: the lab name alone for
 * a lab brought up by hand (predictable: `ip netns exec nslab-<lab>.<node>`),
 * or `<lab>.<id>` for concurrent copies (tests, --instance).
 */
export function instanceName(lab: string, id?: string): string {
  return id ? `${lab}.${id}` : lab;
}

export function nsName(instance: string, node: string): string {
  if (!INSTANCE.test(instance) || !NODE_NAME.test(node))
    throw new Error(`internal: invalid instance '${instance}' or node '${node}'`);
  return `${PREFIX}${instance}.${node}`;
}

/** The (instance, node) a namespace name belongs to, or undefined if it is no lab namespace of nslab's. */
export function parseNsName(ns: string): { instance: string; node: string } | undefined {
  if (!ns.startsWith(PREFIX)) return undefined;
  const parts = ns.slice(PREFIX.length).split('.');
  if (parts.length < 2 || parts.length > 3) return undefined;
  const node = parts.pop()!;
  const instance = parts.join('.');
  return INSTANCE.test(instance) && NODE_NAME.test(node) ? { instance, node } : undefined;
}

export function checkInstanceId(id: string | undefined): string | undefined {
  if (id !== undefined && !INSTANCE_ID.test(id))
    throw new UsageError(`instance id '${id}' is not valid`, 'use 1-12 characters of a-z and 0-9');
  return id;
}

/** A LAB argument that is not a file must be an instance or lab name: never a path. */
export function checkInstanceName(name: string): string {
  if (!INSTANCE.test(name))
    throw new UsageError(
      `'${name.replace(/[^\x20-\x7e]/g, '?')}' is neither a lab file nor a lab or instance name`,
      "names are like 'dual-nic-reply-path' or 'dual-nic-reply-path.k3x9q2'; 'nslab ls' lists the running labs",
    );
  return name;
}

/**
 * Six random characters of [0-9a-z]. Web Crypto (a global, loaded on first
 * use) rather than an import of node:crypto, which costs ~4 ms at every start
 * of the CLI that imports this module.
 */
export function randomId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  let id = '';
  while (id.length < 6)
    for (const b of globalThis.crypto.getRandomValues(new Uint8Array(8)))
      if (b < 252 && id.length < 6) id += alphabet[b % 36]; // 252 = 7 * 36: no bias
  return id;
}
