// A node's kernel settings: forwarding, and the net.* sysctls (the ones private to a namespace) it sets at its base
// or in a stage. Each key must exist in this kernel (read from /proc/sys), name an interface the node has, and carry
// a value sysctl(8) can write.
import { existsSync, readdirSync } from 'node:fs';
import { shown, SYSCTL_KEY, SYSCTL_VALUE } from '../grammar.js';
import type { NodeView } from '../iproute.js';
import type { NodeConfig } from '../model.js';
import { closest, suggest } from '../suggest.js';
import type { ConfigScope, ResolveContext, Settings } from './context.js';

/** Forwarding and the sysctls, in the order they are written. */
export function resolveSysctls(
  cx: ResolveContext,
  { node, base, view }: ConfigScope,
  spec: Settings,
  c: NodeConfig,
): void {
  if (spec.forwarding !== undefined) {
    const v = spec.forwarding ? '1' : '0';
    c.sysctl.push(['net.ipv4.ip_forward', v], ['net.ipv6.conf.all.forwarding', v]);
  }
  for (const [key, raw] of Object.entries(spec.sysctl ?? {})) {
    const value = typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw);
    const p = [...base, 'sysctl', key];
    const iface = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\.[^.]+$/.exec(key)?.[1]?.replace(/\//g, '.');
    const dotted = dottedIface(key, view);
    if (typeof raw === 'number' && !Number.isSafeInteger(raw))
      cx.problem(
        p,
        `sysctl ${key}: ${raw} is not a whole number YAML keeps exactly`,
        `write the value as a string, in quotes: '${shown(String(raw), 20)}'`,
      );
    else if (iface && !['all', 'default'].includes(iface) && !view.interfaces.has(iface))
      cx.problem(
        p,
        `sysctl '${key}' names interface '${iface}', which node '${node}' does not have`,
        suggest(iface, [...view.interfaces.keys(), 'all', 'default'], 'interfaces'),
        true,
      );
    else if (!SYSCTL_KEY.test(key))
      cx.problem(
        p,
        `sysctl '${shown(key)}' is not allowed`,
        "only net.* keys can be set (they are the ones private to a namespace); an interface name with a dot is written with '/', as sysctl(8) does: net.ipv4.conf.eth0/100.rp_filter",
        true,
      );
    else if (dotted)
      cx.problem(
        p,
        `sysctl '${key}' writes interface '${dotted}' with dots`,
        `write it with '/' as sysctl(8) does: ${key.replace(dotted, dotted.replace(/\./g, '/'))}`,
        true,
      );
    else if (!sysctlExists(key))
      cx.problem(p, `sysctl '${key}' does not exist in this kernel`, suggestSysctl(key), true);
    else if (!SYSCTL_VALUE.test(value))
      cx.problem(
        p,
        `sysctl ${key}: value '${shown(value)}' is not valid`,
        "a value is one or more words of letters, digits and . : , / + - _ separated by single spaces, e.g. 1 or '4096 131072 6291456'",
      );
    else c.sysctl.push([key, value]);
  }
}

/**
 * Whether this kernel has the sysctl, read from /proc/sys (no root needed; an
 * interface of the lab stands in as 'default', which every interface's keys
 * mirror). Where /proc/sys/net cannot be read, nothing is refused here.
 */
function sysctlExists(key: string): boolean {
  if (!existsSync('/proc/sys/net')) return true;
  const parts = key.split('.').map((c) => c.replace(/\//g, '.'));
  if ((parts[2] === 'conf' || parts[2] === 'neigh') && parts.length === 5 && parts[3] !== 'all') parts[3] = 'default';
  return existsSync(`/proc/sys/${parts.join('/')}`);
}

function suggestSysctl(key: string): string {
  const parts = key.split('.');
  const dir = `/proc/sys/${parts
    .slice(0, -1)
    .map((c) => c.replace(/\//g, '.'))
    .join('/')
    .replace(/\/(conf|neigh)\/[^/]+$/, '/$1/default')}`;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    /* not a directory here */
  }
  const near = closest(parts.at(-1)!, names);
  return near
    ? `did you mean '${[...parts.slice(0, -1), near].join('.')}'?`
    : "check the spelling: 'sysctl -a -r ^net' lists the keys";
}

/** The interface a per-interface sysctl key names with dots (net.ipv4.conf.eth0.100.rp_filter), if any. */
function dottedIface(key: string, view: NodeView): string | undefined {
  const m = /^net\.ipv[46]\.(conf|neigh)\.(.+)\.[^.]+$/.exec(key);
  return m && m[2]!.includes('.') && view.interfaces.has(m[2]!) ? m[2] : undefined;
}
