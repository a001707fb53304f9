// Raw lab file -> checked model. Collects every problem before failing: the
// schema's, then the meaning's (links, interfaces, addresses, routes, tests).
import { LabFileError, oneLine, type Problem } from '../errors.js';
import { existsSync, readdirSync } from 'node:fs';
import { networkOf, notAnInterfaceAddress, parseAddress, parseCidr, type Cidr } from './addr.js';
import {
  CONTROL,
  durationMs,
  IFNAME,
  NODE_NAME,
  rateBits,
  RESERVED_IFNAMES,
  shown,
  SYSCTL_KEY,
  SYSCTL_VALUE,
} from './grammar.js';
import { nftProblem } from './nft-text.js';
import { httpTarget } from './payload.js';
import { checkRoute, checkRule, routeKey, BUILTIN_TABLES, IPPROTO, type NodeView } from './iproute.js';
import { loadLabFile, type LoadedFile, type Path } from './load.js';
import {
  emptyConfig,
  type Endpoint,
  type Feature,
  type LabModel,
  type LinkModel,
  type NodeConfig,
  type NodeModel,
  type Source,
  type StageModel,
  type TestModel,
} from './model.js';
import {
  ApplySpec,
  JUDGES,
  LabSpec,
  LinkSpec,
  NodeSpec,
  PROBE_KINDS,
  StageSpec,
  TestSpec,
  unjudged,
  type ApplySpecT,
  type InterfaceSpecT,
  type NodeSpecT,
} from './schema.js';
import { schemaProblems } from './schema-problems.js';
import { closest, suggest } from './suggest.js';

/** Loads, checks and resolves a lab file; throws LabFileError with every problem. */
export function loadLab(file: string): LabModel {
  const { model, problems } = checkLab(loadLabFile(file));
  if (!model) throw new LabFileError(problems);
  return model;
}

export function checkLab(loaded: LoadedFile): { model?: LabModel; problems: Problem[] } {
  if (loaded.problems.length) return { problems: loaded.problems };
  const parsed = LabSpec.safeParse(loaded.data);
  const problems = parsed.success ? [] : schemaProblems(parsed.error.issues, loaded);
  const r = new Resolver(loaded, problems);
  const model = r.resolve();
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  // one line each, also for API users who print problems themselves: lab content may carry line breaks
  for (const p of problems) {
    p.message = oneLine(p.message);
    if (p.hint) p.hint = oneLine(p.hint);
  }
  return problems.length ? { problems } : { model, problems };
}

/** Splits a command string into words, honouring simple quotes; no shell is involved. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/**
 * Parses what is valid of an item: keys the schema rejected (already reported)
 * are dropped one by one, so the meaning of the rest is still checked.
 */
function lenient<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; code: string; keys?: string[] }[] } };
  },
  raw: unknown,
): T | undefined {
  const v: unknown = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...raw } : raw;
  for (let round = 0; round < 20; round++) {
    const r = schema.safeParse(v);
    if (r.success) return r.data;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const obj = v as Record<string, unknown>;
    let dropped = false;
    for (const issue of r.error.issues) {
      const keys = issue.path.length
        ? [String(issue.path[0])]
        : issue.code === 'unrecognized_keys'
          ? (issue.keys ?? [])
          : [];
      for (const k of keys)
        if (k in obj) {
          delete obj[k];
          dropped = true;
        }
    }
    if (!dropped) return undefined;
  }
  return undefined;
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** lo's own addresses, in every node (parsed once: parsing IPv6 costs ~0.1 ms). */
const LO4 = parseCidr('127.0.0.1/8')!;
const LO6 = parseCidr('::1/128')!;

function interfaceAddresses(spec: InterfaceSpecT): string[] {
  if (typeof spec === 'string') return [spec];
  if (Array.isArray(spec)) return spec;
  const a = spec.addresses;
  return a === undefined ? [] : typeof a === 'string' ? [a] : a;
}

class Resolver {
  private raw: Record<string, unknown>;
  private nodeNames: Set<string>;
  /** Per node, every interface and its addresses as the lab evolves through stages. */
  private views = new Map<string, NodeView>();
  private addressOwner = new Map<string, string>();

  constructor(
    private loaded: LoadedFile,
    private problems: Problem[],
  ) {
    this.raw = asRecord(loaded.data);
    this.nodeNames = new Set(Object.keys(asRecord(this.raw.nodes)));
  }

  /**
   * Where a value stands. Looked up when first read (a problem, a step's error
   * message, a report): positions come from the slower YAML parser, which a
   * lab that comes up without errors then never needs (see load.ts).
   */
  private at(path: Path, key = false): Source {
    const loaded = this.loaded;
    let p: { line: number; col: number } | undefined;
    const pos = () => (p ??= loaded.locate(path, key));
    return {
      file: loaded.file,
      get line() {
        return pos().line;
      },
      get col() {
        return pos().col;
      },
    };
  }

  private problem(path: Path, message: string, hint?: string, key = false): void {
    this.problems.push({ ...this.at(path, key), message, ...(hint ? { hint } : {}) });
  }

  resolve(): LabModel {
    const rawNodes = asRecord(this.raw.nodes);
    const nodeSpecs = new Map<string, NodeSpecT>();
    for (const [name, raw] of Object.entries(rawNodes)) {
      if (!NODE_NAME.test(name))
        this.problem(
          ['nodes', name],
          `node name '${shown(name)}' is not valid`,
          'use 1-32 characters of a-z, 0-9, _ and -, starting with a letter',
          true,
        );
      const spec = lenient(NodeSpec, raw ?? {});
      if (spec) nodeSpecs.set(name, spec);
    }
    if (this.nodeNames.size === 0 && this.raw.nodes !== undefined)
      this.problem(['nodes'], 'the lab has no nodes', 'declare at least one node');

    const links = this.resolveLinks();
    const nodes: NodeModel[] = [];
    // the link of each node:interface (the first, if a problem made two): one lookup per interface, not a scan of the
    // links
    const linkOf = new Map<string, LinkModel>();
    for (const l of links)
      for (const e of [l.a, l.b]) if (!linkOf.has(`${e.node}:${e.iface}`)) linkOf.set(`${e.node}:${e.iface}`, l);
    for (const [name, spec] of nodeSpecs) nodes.push(this.resolveNode(name, spec, linkOf));
    const stages = this.resolveStages(nodes);
    // IPv6 needs an MTU of at least 1280: the kernel refuses an IPv6 address on a smaller link
    for (const n of nodes)
      for (const i of n.interfaces)
        if (
          i.mtu !== undefined &&
          i.mtu < 1280 &&
          this.views
            .get(n.name)
            ?.interfaces.get(i.name)
            ?.some((c) => c.family === 6)
        )
          this.problem(
            ['nodes', n.name, 'interfaces', i.name],
            `${n.name}:${i.name} has an IPv6 address and an MTU of ${i.mtu}`,
            'IPv6 needs an MTU of 1280 or more',
            true,
          );
    // table names a stage declares belong to the node too (route probes name them)
    for (const n of nodes) n.tables = Object.fromEntries(this.views.get(n.name)?.tables ?? []);
    const needs = new Set<Feature>();
    for (const l of links) {
      if (l.delay || l.loss) needs.add('netem');
      if (l.rate) needs.add('tbf');
    }
    return {
      name: typeof this.raw.name === 'string' || typeof this.raw.name === 'number' ? String(this.raw.name) : '',
      description: typeof this.raw.description === 'string' ? this.raw.description : undefined,
      file: this.loaded.file,
      nodes,
      links,
      stages,
      needs: [...needs],
    };
  }

  // ---- links: which interfaces exist where ----
  private linkIfaces = new Map<string, Map<string, number>>(); // node -> iface -> link index
  private bridgePorts = new Map<string, number>();

  private resolveLinks(): LinkModel[] {
    const out: LinkModel[] = [];
    const rawLinks = Array.isArray(this.raw.links) ? this.raw.links : [];
    const rawNodes = asRecord(this.raw.nodes);
    rawLinks.forEach((raw, i) => {
      const data = lenient(LinkSpec, raw);
      if (data === undefined) return;
      const p = { data };
      const spec = typeof p.data === 'string' ? { endpoints: p.data.trim().split(/\s+/) as [string, string] } : p.data;
      const path: Path = typeof p.data === 'string' ? ['links', i] : ['links', i, 'endpoints'];
      const ends: Endpoint[] = [];
      spec.endpoints.forEach((ep, j) => {
        const epPath = typeof p.data === 'string' ? path : [...path, j];
        const [node, ifname] = ep.split(':') as [string, string | undefined];
        if (!this.nodeNames.has(node)) {
          this.problem(
            epPath,
            `link ${i + 1} names unknown node '${node}'`,
            suggest(node, [...this.nodeNames], 'nodes'),
          );
          return;
        }
        const isBridge = asRecord(rawNodes[node]).kind === 'bridge';
        let iface = ifname;
        if (iface === undefined) {
          if (!isBridge) {
            this.problem(epPath, `link ${i + 1}: endpoint '${node}' has no interface name`, `write it as ${node}:eth0`);
            return;
          }
          const n = (this.bridgePorts.get(node) ?? 0) + 1;
          this.bridgePorts.set(node, n);
          iface = `p${n}`;
        }
        if (!this.checkLinkIfname(iface, epPath, isBridge)) return;
        const have = this.linkIfaces.get(node) ?? new Map<string, number>();
        this.linkIfaces.set(node, have);
        if (have.has(iface)) {
          this.problem(
            epPath,
            have.get(iface) === i
              ? `link ${i + 1} names ${node}:${iface} at both ends`
              : `interface ${node}:${iface} is in two links (links ${have.get(iface)! + 1} and ${i + 1})`,
            'each interface is one end of one link; use another name, or a bridge node for a shared segment',
          );
          return;
        }
        have.set(iface, i);
        ends.push({ node, iface });
      });
      if (ends.length === 2) {
        const o: { mtu?: number; rate?: string; delay?: string; loss?: string } =
          typeof p.data === 'string' ? {} : p.data;
        // what tc can hold: tbf needs at least a bit a second, netem's delay a 32-bit count of microseconds
        if (o.rate && rateBits(o.rate) < 8)
          this.problem(
            ['links', i, 'rate'],
            `rate ${o.rate} is less than a byte a second`,
            'tc reads it as no rate at all; use e.g. 10kbit',
          );
        if (o.rate && rateBits(o.rate) > 1e12)
          this.problem(
            ['links', i, 'rate'],
            `rate ${o.rate} is more than tbf can shape (1tbit)`,
            'leave rate out for an unshaped link',
          );
        if (o.delay && durationMs(o.delay) > 4_000_000)
          this.problem(
            ['links', i, 'delay'],
            `delay ${o.delay} is longer than netem can hold (about 71 minutes)`,
            'use a delay such as 20ms',
          );
        out.push({
          a: ends[0]!,
          b: ends[1]!,
          mtu: o.mtu,
          rate: o.rate,
          delay: o.delay,
          loss: o.loss,
          at: this.at(['links', i]),
        });
      }
    });
    return out;
  }

  private checkIfname(name: string, path: Path, key = false): boolean {
    if (name.length > 15) {
      this.problem(
        path,
        `interface name '${shown(name)}' is too long (${name.length} characters; Linux allows 15)`,
        'use a shorter name such as eth0',
        key,
      );
      return false;
    }
    if (!IFNAME.test(name) || name === '.' || name === '..') {
      this.problem(
        path,
        `interface name '${shown(name)}' is not valid`,
        'use letters, digits, _, . and -, starting with a letter, digit or _',
        key,
      );
      return false;
    }
    return true;
  }

  /** A link end: a valid name that is not one every namespace already has, nor a bridge's own br0. */
  private checkLinkIfname(name: string, path: Path, bridge: boolean): boolean {
    if (!this.checkIfname(name, path)) return false;
    if (RESERVED_IFNAMES.includes(name) || (bridge && name === 'br0')) {
      this.problem(
        path,
        `'${name}' cannot be the name of a link's interface`,
        name === 'lo'
          ? 'every node already has lo, the loopback interface; name the link end eth0 or similar'
          : name === 'br0'
            ? "a bridge node's own bridge is br0; name its ports otherwise, or leave them unnamed"
            : `'${name}' means every interface to the kernel's per-interface settings; use another name`,
      );
      return false;
    }
    return true;
  }

  // ---- nodes ----
  private resolveNode(name: string, spec: NodeSpecT, linkOf: Map<string, LinkModel>): NodeModel {
    const base: Path = ['nodes', name];
    const kind = spec.kind ?? 'host';
    const created = this.linkIfaces.get(name) ?? new Map<string, number>();
    const view: NodeView = { interfaces: new Map([['lo', [LO4, LO6]]]), tables: new Map() };
    for (const ifname of created.keys()) view.interfaces.set(ifname, []);
    this.views.set(name, view);
    if (kind === 'bridge') {
      for (const k of [
        'interfaces',
        'routes',
        'rules',
        'tables',
        'masquerade',
        'nftables',
        'services',
        'forwarding',
        'sysctl',
      ] as const)
        if (spec[k] !== undefined)
          this.problem(
            [...base, k],
            `a bridge node takes no '${k}'`,
            'a bridge only joins its links; put addresses and settings on the hosts',
            true,
          );
      if (created.size < 2)
        this.problem(base, `bridge '${name}' has ${created.size} link(s)`, 'a bridge joins two or more links', true);
    }
    const config = this.resolveConfig(name, spec, base, view, true);
    const interfaces = [...created.keys()].map((ifname) => {
      const s = spec.interfaces?.[ifname];
      const o = s && typeof s === 'object' && !Array.isArray(s) ? s : {};
      // a copy: stages add to the view later
      return {
        name: ifname,
        addresses: [...(view.interfaces.get(ifname) ?? [])],
        mtu: o.mtu ?? linkOf.get(`${name}:${ifname}`)?.mtu,
        mac: o.mac,
        up: o.up ?? true,
      };
    });
    const lo = config.addresses.filter((a) => a.iface === 'lo').map((a) => a.cidr);
    interfaces.unshift({ name: 'lo', addresses: lo, mtu: undefined, mac: undefined, up: true });
    return { name, kind, interfaces, tables: Object.fromEntries(view.tables), config };
  }

  /** Shared by a node's base settings and a stage's apply. */
  private resolveConfig(
    node: string,
    spec: NodeSpecT | ApplySpecT,
    base: Path,
    view: NodeView,
    isBase: boolean,
  ): NodeConfig {
    const c = emptyConfig();
    for (const [tname, id] of Object.entries(spec.tables ?? {})) {
      const p = [...base, 'tables', tname];
      if (
        tname in BUILTIN_TABLES ||
        ['all', 'unspec'].includes(tname) ||
        /^\d+$/.test(tname) ||
        !/^[A-Za-z][A-Za-z0-9_-]*$/.test(tname)
      )
        this.problem(
          p,
          `'${tname}' cannot be used as a table name`,
          'choose a name such as isp1 or gateway1 (main, local, default are built in)',
          true,
        );
      else if (id < 1 || id > 0xffffffff || (id >= 253 && id <= 255))
        this.problem(
          p,
          `table id ${id} is reserved or out of range`,
          'use 1-252 or 256 and above (253-255 are default, main, local)',
        );
      else {
        const clash = [...view.tables].find(([n, i]) => i === id && n !== tname);
        if (clash) this.problem(p, `table id ${id} is already named '${clash[0]}'`, 'give each table its own id');
        view.tables.set(tname, id);
      }
    }
    for (const [ifname, ispec] of Object.entries(spec.interfaces ?? {})) {
      const p = [...base, 'interfaces', ifname];
      if (!this.checkIfname(ifname, p, true)) continue;
      if (!view.interfaces.has(ifname)) {
        const created = [...view.interfaces.keys()].filter((n) => n !== 'lo');
        this.problem(
          p,
          `interface '${ifname}' of node '${node}' is created by no link`,
          created.length
            ? `add a link such as '${node}:${ifname} other:eth0', or use one of: ${created.join(', ')}`
            : `add a link such as '${node}:${ifname} other:eth0'`,
          true,
        );
        continue;
      }
      if (typeof ispec === 'object' && !Array.isArray(ispec)) {
        if (ifname === 'lo' && (ispec.mtu || ispec.mac || ispec.up === false))
          this.problem(p, 'lo takes addresses only', undefined, true);
        if (!isBase && (ispec.mtu !== undefined || ispec.mac !== undefined))
          c.interfaces.push({ name: ifname, mtu: ispec.mtu, mac: ispec.mac });
        if (ispec.up === false && !isBase) c.down.push(ifname);
        if (ispec.up === true && !isBase) c.up.push(ifname);
        if (ispec.up === false) (view.down ??= new Set()).add(ifname);
        if (ispec.up === true) view.down?.delete(ifname);
      }
      const list = interfaceAddresses(ispec);
      list.forEach((text, k) => {
        const ap: Path =
          typeof ispec === 'string'
            ? p
            : Array.isArray(ispec)
              ? [...p, k]
              : Array.isArray(ispec.addresses)
                ? [...p, 'addresses', k]
                : [...p, 'addresses'];
        const cidr = parseCidr(text);
        if (!cidr) {
          this.problem(
            ap,
            `'${shown(text)}' is not a valid address with prefix length`,
            text.includes('/')
              ? 'write IPv4 as four decimal numbers without leading zeros (10.0.0.1/24), IPv6 without a zone (2001:db8::1/64); the length is 0-32 or 0-128'
              : `add the prefix length, e.g. ${shown(text)}/24`,
          );
          return;
        }
        const why =
          notAnInterfaceAddress(cidr) ??
          (ifname === 'lo' && ['127.0.0.1', '::1'].includes(cidr.address)
            ? 'lo has it already'
            : ifname !== 'lo' && cidr.family === 6 && cidr.address === '::1'
              ? 'the IPv6 loopback address belongs to lo only'
              : undefined);
        if (why) {
          this.problem(
            ap,
            `'${text}' cannot be an interface address: ${why}`,
            'give the interface a unicast address such as 10.0.0.1/24 or 2001:db8::1/64',
          );
          return;
        }
        const owner = this.addressOwner.get(cidr.address);
        if (owner) {
          this.problem(
            ap,
            `address ${cidr.address} is already used by ${owner}`,
            'every address in a lab must be unique',
          );
          return;
        }
        this.addressOwner.set(cidr.address, `${node}:${ifname}`);
        view.interfaces.get(ifname)!.push(cidr);
        c.addresses.push({ iface: ifname, cidr });
      });
    }
    for (const dir of ['up', 'down'] as const)
      for (const [k, ifname] of ((spec as ApplySpecT)[dir] ?? []).entries()) {
        if (!view.interfaces.has(ifname))
          this.problem(
            [...base, dir, k],
            `interface '${ifname}' does not exist in node '${node}'`,
            suggest(ifname, [...view.interfaces.keys()], 'interfaces'),
          );
        else {
          c[dir].push(ifname);
          // the plan takes interfaces down and up before it adds routes: the routes below see this state
          if (dir === 'down') (view.down ??= new Set()).add(ifname);
          else view.down?.delete(ifname);
        }
      }
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
        this.problem(
          p,
          `sysctl ${key}: ${raw} is not a whole number YAML keeps exactly`,
          `write the value as a string, in quotes: '${shown(String(raw), 20)}'`,
        );
      else if (iface && !['all', 'default'].includes(iface) && !view.interfaces.has(iface))
        this.problem(
          p,
          `sysctl '${key}' names interface '${iface}', which node '${node}' does not have`,
          suggest(iface, [...view.interfaces.keys(), 'all', 'default'], 'interfaces'),
          true,
        );
      else if (!SYSCTL_KEY.test(key))
        this.problem(
          p,
          `sysctl '${shown(key)}' is not allowed`,
          "only net.* keys can be set (they are the ones private to a namespace); an interface name with a dot is written with '/', as sysctl(8) does: net.ipv4.conf.eth0/100.rp_filter",
          true,
        );
      else if (dotted)
        this.problem(
          p,
          `sysctl '${key}' writes interface '${dotted}' with dots`,
          `write it with '/' as sysctl(8) does: ${key.replace(dotted, dotted.replace(/\./g, '/'))}`,
          true,
        );
      else if (!sysctlExists(key))
        this.problem(p, `sysctl '${key}' does not exist in this kernel`, suggestSysctl(key), true);
      else if (!SYSCTL_VALUE.test(value))
        this.problem(
          p,
          `sysctl ${key}: value '${shown(value)}' is not valid`,
          "a value is one or more words of letters, digits and . : , / + - _ separated by single spaces, e.g. 1 or '4096 131072 6291456'",
        );
      else c.sysctl.push([key, value]);
    }
    // a base route is added (`ip route add`): the kernel refuses a second route with the same key,
    // including the one it adds itself for each IPv4 address's subnet (metric 0, main)
    const keys = new Map<string, string>();
    if (isBase)
      for (const [ifname, cidrs] of view.interfaces)
        for (const a of cidrs)
          if (a.family === 4 && ifname !== 'lo' && a.prefix < 32)
            keys.set(
              routeKey({ args: [networkOf(a), 'dev', ifname], family: 4 }),
              `the route the kernel adds itself for ${a.text} on ${ifname}`,
            );
    (spec.routes ?? []).forEach((text, k) => {
      const r = checkRoute(text, view);
      for (const e of r.errors)
        this.problem([...base, 'routes', k], `route '${shown(text, 80)}': ${e.message}`, e.hint);
      if (isBase && !r.errors.length) {
        const key = routeKey(r);
        const twin = keys.get(key);
        if (twin)
          this.problem(
            [...base, 'routes', k],
            `route '${shown(text, 80)}' is the same to the kernel as ${twin}`,
            'the kernel refuses a second route with the same destination, table, metric and tos: drop one, or give it another metric or table',
          );
        else keys.set(key, `route '${text}'`);
      }
      c.routes.push({ args: r.args, family: r.family, text, at: this.at([...base, 'routes', k]) });
    });
    (spec.rules ?? []).forEach((text, k) => {
      const r = checkRule(text, view);
      for (const e of r.errors) this.problem([...base, 'rules', k], `rule '${shown(text, 80)}': ${e.message}`, e.hint);
      c.rules.push({ args: r.args, family: r.family, text, at: this.at([...base, 'rules', k]) });
    });
    if (spec.nftables !== undefined) {
      const why = nftProblem(spec.nftables);
      if (why) this.problem([...base, 'nftables'], `nftables: ${why.message}`, why.hint);
      else c.nftables = { text: spec.nftables, at: this.at([...base, 'nftables']) };
    }
    (spec.masquerade ?? []).forEach((ifname, k) => {
      if (ifname === 'lo')
        this.problem(
          [...base, 'masquerade', k],
          "cannot masquerade out of 'lo': traffic leaves a node through its links",
          'name the interface towards the outside, e.g. the uplink',
        );
      else if (!view.interfaces.has(ifname))
        this.problem(
          [...base, 'masquerade', k],
          `cannot masquerade out of '${shown(ifname)}': node '${node}' has no such interface`,
          suggest(
            ifname,
            [...view.interfaces.keys()].filter((n) => n !== 'lo'),
            'interfaces',
          ),
        );
      else c.masquerade.push(ifname);
    });
    (spec.services ?? []).forEach((s, k) => {
      const argv = typeof s.command === 'string' ? splitWords(s.command) : s.command;
      if (!this.checkCommand(argv, [...base, 'services', k, 'command'])) return;
      if (c.services.some((o) => o.name === s.name))
        this.problem([...base, 'services', k, 'name'], `service '${s.name}' is declared twice in node '${node}'`);
      c.services.push({ name: s.name, argv, at: this.at([...base, 'services', k]) });
    });
    return c;
  }

  // ---- stages and tests ----
  private resolveStages(nodes: NodeModel[]): StageModel[] {
    const out: StageModel[] = [];
    const rawStages = Array.isArray(this.raw.stages) ? this.raw.stages : [];
    const seen = new Set<string>();
    rawStages.forEach((raw, i) => {
      const base: Path = ['stages', i];
      const rs = asRecord(raw);
      if (typeof rs.name === 'string') {
        if (CONTROL.test(rs.name))
          this.problem(
            [...base, 'name'],
            `stage name '${shown(rs.name)}' contains a line break or control character`,
            'a stage name is one line of text',
          );
        if (seen.has(rs.name))
          this.problem(
            [...base, 'name'],
            `stage name '${rs.name}' is used twice`,
            'give each stage its own name; --stage selects by name',
          );
        seen.add(rs.name);
      }
      const apply = new Map<string, NodeConfig>();
      for (const [node, rawApply] of Object.entries(asRecord(rs.apply))) {
        const p: Path = [...base, 'apply', node];
        if (!this.nodeNames.has(node)) {
          this.problem(p, `stage applies to unknown node '${node}'`, suggest(node, [...this.nodeNames], 'nodes'), true);
          continue;
        }
        const view = this.views.get(node);
        const a = lenient(ApplySpec, rawApply ?? {});
        if (!a || !view) continue;
        if (nodes.find((n) => n.name === node)?.kind === 'bridge') {
          this.problem(p, `a bridge node takes no settings`, undefined, true);
          continue;
        }
        apply.set(node, this.resolveConfig(node, a, p, view, false));
      }
      const tests: TestModel[] = [];
      const names = new Set<string>();
      (Array.isArray(rs.tests) ? rs.tests : []).forEach((rt, k) => {
        const name = asRecord(rt).name;
        if (typeof name === 'string') {
          if (names.has(name))
            this.problem(
              [...base, 'tests', k, 'name'],
              `test name '${shown(name)}' is used twice in this stage`,
              'give each test of a stage its own name: reports and --grep tell tests apart by it',
            );
          names.add(name);
        }
        const t = this.resolveTest(rt, [...base, 'tests', k]);
        if (t) tests.push(t);
      });
      const s = lenient(StageSpec, raw);
      if (s)
        out.push({
          name: s.name,
          description: s.description,
          solution: s.solution === true,
          apply,
          tests,
          at: this.at(base),
        });
    });
    return out;
  }

  private resolveTest(raw: unknown, path: Path): TestModel | undefined {
    const rt = asRecord(raw);
    const probes = PROBE_KINDS.filter((k) => k in rt);
    if (probes.length !== 1) {
      this.problem(
        path,
        probes.length ? `test has ${probes.length} probes (${probes.join(', ')})` : 'test has no probe',
        `give each test exactly one of: ${PROBE_KINDS.join(', ')}`,
      );
      return undefined;
    }
    const probe = probes[0]!;
    const pr = asRecord(rt[probe]);
    if (typeof rt.name === 'string' && CONTROL.test(rt.name))
      this.problem(
        [...path, 'name'],
        `test name '${shown(rt.name)}' contains a line break or control character`,
        'a test name is one line of text',
      );
    if (probe === 'exec' && (typeof pr.command === 'string' || Array.isArray(pr.command)))
      this.checkCommand(typeof pr.command === 'string' ? splitWords(pr.command) : pr.command.map(String), [
        ...path,
        probe,
        'command',
      ]);
    for (const key of probe === 'route' ? (['node'] as const) : (['from', 'node'] as const))
      // a route probe's from is an address
      if (typeof pr[key] === 'string' && !this.nodeNames.has(pr[key]))
        this.problem(
          [...path, probe, key],
          `test names unknown node '${pr[key]}'`,
          suggest(pr[key], [...this.nodeNames], 'nodes'),
        );
    const targets = Array.isArray(pr.to) ? pr.to : [pr.to];
    const family = pr.ipv6 === true ? 6 : 4;
    targets.forEach((t, j) => {
      if (typeof t !== 'string' || probe === 'route') return;
      const tp = Array.isArray(pr.to) ? [...path, probe, 'to', j] : [...path, probe, 'to'];
      if (!parseAddress(t) && this.checkRef(t, tp, false) && probe !== 'exec') this.checkTargetFamily(t, family, tp);
    });
    if (probe === 'http' && typeof pr.url === 'string') this.checkHttpUrl(pr.url, family, [...path, probe, 'url']);
    if (probe === 'route') this.checkRouteProbe(pr, asRecord(rt.expect), [...path, probe]);
    this.checkProbeFields(probe, pr, asRecord(rt.expect), path);
    if (probe !== 'exec' && rt.expect === undefined)
      this.problem(
        path,
        'test asserts nothing',
        `add an expect, e.g. expect: { ${probe === 'route' ? 'dev: eth0' : probe === 'flows' ? 'spread: { node:eth0: 1 }' : probe === 'throughput' ? 'rate: { min: 1mbit }' : 'reachable: true'} }`,
      );
    const ex = asRecord(rt.expect);
    // a key the probe does not judge would pass on what it never looked at
    const a = probe === 'exec' ? 'an' : 'a';
    for (const key of unjudged(probe, ex))
      this.problem(
        [...path, 'expect', key],
        `${a} ${probe} test cannot judge '${key}': nothing would check it`,
        `${a} ${probe} test judges: ${JUDGES[probe].join(', ')}`,
      );
    for (const key of ['reply-via', 'seen', 'not-seen', 'path', 'reply-path'] as const) {
      const v = ex[key];
      const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
      list.forEach(
        (ref, j) =>
          typeof ref === 'string' &&
          this.checkRef(
            ref,
            Array.isArray(v) ? [...path, 'expect', key, j] : [...path, 'expect', key],
            key === 'reply-via' || key.endsWith('seen'),
          ),
      );
    }
    for (const ref of Object.keys(asRecord(ex.spread)))
      this.checkRef(ref, [...path, 'expect', 'spread', ref], true, true);
    const t = lenient(TestSpec, raw);
    if (!t) return undefined;
    return {
      name: t.name,
      probe,
      spec: pr,
      expect: t.expect ?? {},
      requires: t.requires ?? [],
      ...(t.hint !== undefined ? { hint: t.hint } : {}),
      at: this.at(path),
    };
  }

  /** A command (service or exec test): a program to run, not an empty line. */
  private checkCommand(argv: string[], path: Path): boolean {
    if (!argv.length || !argv[0]!.trim()) {
      this.problem(path, 'command is empty', 'name the program to run and its arguments, e.g. sleep 3600');
      return false;
    }
    if (argv.some((a) => a.includes('\u0000'))) {
      this.problem(path, 'command contains a NUL character', 'remove it');
      return false;
    }
    return true;
  }

  /** A reference to a node, or node:interface, in a test; true when it names something that exists. */
  private checkRef(ref: string, path: Path, needIface: boolean, key = false): boolean {
    const [node, iface] = ref.split(':') as [string, string | undefined];
    if (!this.nodeNames.has(node)) {
      this.problem(path, `test names unknown node '${shown(node)}'`, suggest(node, [...this.nodeNames], 'nodes'), key);
      return false;
    }
    if (needIface && iface === undefined) {
      this.problem(path, `'${ref}' needs an interface`, `write it as ${node}:eth0`, key);
      return false;
    }
    const view = this.views.get(node);
    if (iface !== undefined && view && !view.interfaces.has(iface)) {
      this.problem(
        path,
        `node '${node}' has no interface '${shown(iface)}'`,
        suggest(iface, [...view.interfaces.keys()], 'interfaces'),
        key,
      );
      return false;
    }
    return true;
  }

  /** A node or node:interface target needs an address of the family the probe uses (at this stage). */
  private checkTargetFamily(ref: string, family: 4 | 6, path: Path): void {
    const [node, iface] = ref.split(':') as [string, string | undefined];
    const view = this.views.get(node);
    if (!view) return;
    const has = [...view.interfaces].some(
      ([name, cs]) => name !== 'lo' && (iface === undefined || name === iface) && cs.some((c) => c.family === family),
    );
    if (!has)
      this.problem(
        path,
        `'${ref}' has no IPv${family} address to send to`,
        family === 6
          ? 'give it an IPv6 address, or test it over IPv4'
          : 'give it an IPv4 address, or add ipv6: true to the probe',
      );
  }

  /** Addresses are addresses and interfaces exist, wherever a probe or an expectation names one. */
  private checkProbeFields(probe: string, pr: Record<string, unknown>, ex: Record<string, unknown>, path: Path): void {
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const fromView = str(pr.from) && this.views.get(str(pr.from)!);
    const addr = (v: unknown, p: Path, what: string) => {
      if (str(v) !== undefined && !parseAddress(str(v)!))
        this.problem(
          p,
          `${what} '${shown(str(v)!)}' is not an address`,
          'write a single address, e.g. 10.0.0.1 or 2001:db8::1',
        );
    };
    if (probe === 'ping') {
      addr(pr.source, [...path, probe, 'source'], 'source');
      if (str(pr.interface) !== undefined && fromView && !fromView.interfaces.has(str(pr.interface)!))
        this.problem(
          [...path, probe, 'interface'],
          `node '${str(pr.from)}' has no interface '${shown(str(pr.interface)!)}'`,
          suggest(str(pr.interface)!, [...fromView.interfaces.keys()], 'interfaces'),
        );
    }
    if (probe === 'tcp' || probe === 'udp' || probe === 'http') addr(pr.bind, [...path, probe, 'bind'], 'bind');
    if (probe === 'flows' && str(pr.via) !== undefined && !this.nodeNames.has(str(pr.via)!))
      this.problem(
        [...path, probe, 'via'],
        `test names unknown node '${shown(str(pr.via)!)}'`,
        suggest(str(pr.via)!, [...this.nodeNames], 'nodes'),
      );
    if (probe === 'route') {
      for (const k of ['mark', 'tos', 'dsfield'] as const)
        if (typeof pr[k] === 'string' && !/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(pr[k]))
          this.problem(
            [...path, probe, k],
            `route probe: ${k} '${shown(pr[k])}' is not a number`,
            'write it in decimal or as 0x hex',
          );
      if (str(pr.ipproto) !== undefined && !IPPROTO.test(str(pr.ipproto)!))
        this.problem(
          [...path, probe, 'ipproto'],
          `route probe: ipproto '${shown(str(pr.ipproto)!)}' is not a protocol`,
          'use tcp, udp, icmp, ipv6-icmp, sctp or a number',
        );
      const view = str(pr.node) && this.views.get(str(pr.node)!);
      if (str(ex.dev) !== undefined && view && !view.interfaces.has(str(ex.dev)!))
        this.problem(
          [...path, 'expect', 'dev'],
          `node '${str(pr.node)}' has no interface '${shown(str(ex.dev)!)}'`,
          suggest(str(ex.dev)!, [...view.interfaces.keys()], 'interfaces'),
        );
      addr(ex.via, [...path, 'expect', 'via'], 'via');
      addr(ex.src, [...path, 'expect', 'src'], 'src');
    }
    addr(ex.source, [...path, 'expect', 'source'], 'source');
  }

  /** An http test's URL: its port in range, its host an address or a node with an address of the family. */
  private checkHttpUrl(url: string, family: 4 | 6, path: Path): void {
    const t = httpTarget(url);
    if (!t) {
      // the schema has said what is wrong with its form; a port out of range is left
      if (/^http:\/\/(\[[^\]]*\]|[^/:]+):(\d+)/.test(url))
        this.problem(path, `url '${shown(url)}' has a port out of range`, 'ports are 1 to 65535');
      return;
    }
    if (parseAddress(t.host)) return;
    if (!this.nodeNames.has(t.host)) {
      this.problem(path, `url names unknown node '${shown(t.host)}'`, suggest(t.host, [...this.nodeNames], 'nodes'));
      return;
    }
    this.checkTargetFamily(t.host, family, path);
  }

  /** A route probe's selectors and the table it expects, against the node it asks. */
  private checkRouteProbe(pr: Record<string, unknown>, ex: Record<string, unknown>, path: Path): void {
    const view = typeof pr.node === 'string' ? this.views.get(pr.node) : undefined;
    if (!view) return;
    const node = pr.node as string;
    for (const k of ['to', 'from'] as const)
      if (typeof pr[k] === 'string' && !parseAddress(pr[k]))
        this.problem(
          [...path, k],
          `route probe: '${shown(pr[k])}' is not an address`,
          'ip route get takes a single address, e.g. 192.168.2.17',
        );
    for (const k of ['iif', 'oif'] as const)
      if (typeof pr[k] === 'string' && !view.interfaces.has(pr[k])) {
        const name: string = pr[k];
        this.problem(
          [...path, k],
          `node '${node}' has no interface '${shown(name)}'`,
          suggest(name, [...view.interfaces.keys()], 'interfaces'),
        );
      }
    if (typeof pr.iif === 'string' && pr.from === undefined)
      this.problem(
        [...path, 'iif'],
        "route probe: 'iif' needs 'from'",
        'ip route get simulates a packet arriving on iif from an address: add from: ADDRESS',
      );
    const t = ex.table;
    if (typeof t === 'string' && !/^\d+$/.test(t) && !(t in BUILTIN_TABLES) && !view.tables.has(t))
      this.problem(
        [...path.slice(0, -1), 'expect', 'table'],
        `table '${shown(t)}' is not declared in node '${node}'`,
        `declare it under tables, or use a number; known: ${['main', 'local', 'default', ...view.tables.keys()].join(', ')}`,
      );
    if (typeof t === 'number' && (t < 1 || t > 0xffffffff))
      this.problem(
        [...path.slice(0, -1), 'expect', 'table'],
        `table id ${t} is out of range`,
        'table ids are 1 to 4294967295',
      );
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

/** A test's target: an address, or node / node:iface meaning its first address of the family. */
export function resolveTarget(lab: LabModel, to: string, family: 4 | 6 = 4): string | undefined {
  const a = parseAddress(to);
  if (a) return a.address;
  const [node, iface] = to.split(':');
  const n = lab.nodes.find((x) => x.name === node);
  const pick = (cs: Cidr[]) => cs.find((c) => c.family === family)?.address;
  if (!n) return undefined;
  // the base addresses first, then those stages add, in order
  const staged = (name: string) =>
    lab.stages.flatMap(
      (s) =>
        s.apply
          .get(n.name)
          ?.addresses.filter((a) => a.iface === name)
          .map((a) => a.cidr) ?? [],
    );
  const all = (i: { name: string; addresses: Cidr[] }) => [...i.addresses, ...staged(i.name)];
  if (iface) {
    const i = n.interfaces.find((x) => x.name === iface);
    return i && pick(all(i));
  }
  for (const i of n.interfaces)
    if (i.name !== 'lo') {
      const x = pick(all(i));
      if (x) return x;
    }
  return undefined;
}
