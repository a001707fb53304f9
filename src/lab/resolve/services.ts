// A node's services (at its base or declared by a stage) with their env, cwd, user and ready; and a stage's stop,
// start, restart and signal of services declared before it. Names are tracked per node as the stages go
// (ResolveContext.serviceDefs), so that a stage can only act on a service that exists by then.
import { constants as osConstants } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { durationMs, shown } from '../grammar.js';
import type { Path } from '../load.js';
import type { NodeConfig, ServiceAction, ServiceModel } from '../model.js';
import { suggest } from '../suggest.js';
import { checkCommand, splitWords } from './commands.js';
import type { ApplySpecT } from '../schema.js';
import type { ResolveContext, Settings } from './context.js';

/** How long a service's `ready` waits by default. */
const READY_MS = 10_000;

/** The services a node's settings declare (isBase: its own; else a stage's), then the stage's actions. */
export function resolveServices(
  cx: ResolveContext,
  node: string,
  spec: Settings,
  base: Path,
  c: NodeConfig,
  isBase: boolean,
): void {
  (spec.services ?? []).forEach((s, k) => {
    const argv = typeof s.command === 'string' ? splitWords(s.command) : s.command;
    if (!checkCommand(cx, argv, [...base, 'services', k, 'command'])) return;
    if (c.services.some((o) => o.name === s.name))
      cx.problem([...base, 'services', k, 'name'], `service '${s.name}' is declared twice in node '${node}'`);
    const p: Path = [...base, 'services', k];
    const svc: ServiceModel = { name: s.name, argv, at: cx.at(p) };
    for (const [key, value] of Object.entries(s.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
        cx.problem(
          [...p, 'env', key],
          `'${shown(key)}' is not an environment variable name`,
          'use letters, digits and _, not starting with a digit',
          true,
        );
      else if (String(value).includes('\u0000'))
        cx.problem([...p, 'env', key], `the value of ${key} contains a NUL character`, 'remove it');
      else (svc.env ??= {})[key] = String(value);
    }
    if (s.cwd !== undefined) {
      if (!s.cwd || s.cwd.includes('\u0000'))
        cx.problem([...p, 'cwd'], 'cwd is empty or contains a NUL character', 'name a folder, e.g. /srv/app');
      else svc.cwd = resolvePath(dirname(cx.loaded.file), s.cwd);
    }
    if (s.user !== undefined) {
      if (typeof s.user === 'string' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(s.user))
        cx.problem([...p, 'user'], `'${shown(s.user)}' is not a user name`, 'name a user of this machine, or a uid');
      else svc.user = String(s.user);
    }
    if (s.ready) {
      const r = s.ready;
      const kinds = (['tcp', 'udp', 'log', 'command'] as const).filter((x) => r[x] !== undefined);
      const timeoutMs = r.timeout !== undefined ? durationMs(r.timeout) : READY_MS;
      if (kinds.length !== 1)
        cx.problem(
          [...p, 'ready'],
          kinds.length
            ? `ready takes one of tcp, udp, log, command; this one has ${kinds.join(' and ')}`
            : 'ready says nothing to wait for',
          'e.g. ready: { tcp: 8080 }, ready: { log: "listening" } or ready: { command: "test -S /run/app.sock" }',
        );
      else if (r.tcp !== undefined) svc.ready = { kind: 'tcp', port: r.tcp, timeoutMs };
      else if (r.udp !== undefined) svc.ready = { kind: 'udp', port: r.udp, timeoutMs };
      else if (r.log !== undefined) {
        try {
          new RegExp(r.log);
          svc.ready = { kind: 'log', pattern: r.log, timeoutMs };
        } catch (e) {
          cx.problem([...p, 'ready', 'log'], `ready.log is not a regular expression: ${(e as Error).message}`);
        }
      } else {
        const cmd = typeof r.command === 'string' ? splitWords(r.command) : r.command!;
        if (checkCommand(cx, cmd, [...p, 'ready', 'command'])) svc.ready = { kind: 'command', argv: cmd, timeoutMs };
      }
    }
    const known = cx.serviceDefs.get(node) ?? cx.serviceDefs.set(node, new Map()).get(node)!;
    if (!isBase && known.has(s.name))
      cx.problem(
        [...p, 'name'],
        `service '${s.name}' of node '${node}' is already declared`,
        `a stage can stop, start, restart or signal it: restart: [${s.name}]`,
      );
    else known.set(s.name, svc);
    c.services.push(svc);
  });
  if (!isBase) resolveServiceActions(cx, node, spec, base, c);
}

/** A stage's stop, start, restart and signal: services declared before this stage, signals the kernel has. */
function resolveServiceActions(cx: ResolveContext, node: string, spec: Settings, base: Path, c: NodeConfig): void {
  const known = cx.serviceDefs.get(node) ?? new Map<string, ServiceModel>();
  const declared = new Set(c.services.map((s) => s.name));
  const named = (name: string, path: Path, key: boolean): ServiceModel | undefined => {
    const def = known.get(name);
    if (def && !declared.has(name)) return def;
    cx.problem(
      path,
      declared.has(name)
        ? `service '${shown(name)}' is declared in this same stage: it starts after the stage's actions`
        : `node '${node}' has no service '${shown(name)}' declared before this stage`,
      declared.has(name)
        ? 'act on it in a later stage'
        : suggest(
            name,
            [...known.keys()].filter((n) => !declared.has(n)),
            'services',
          ),
      key,
    );
    return undefined;
  };
  const actions: ServiceAction[] = [];
  for (const action of ['stop', 'start', 'restart'] as const)
    ((spec as ApplySpecT)[action] ?? []).forEach((name, k) => {
      const p = [...base, action, k];
      const def = named(name, p, false);
      if (def) actions.push({ action, service: name, ...(action === 'stop' ? {} : { def }), at: cx.at(p) });
    });
  for (const [name, sig] of Object.entries((spec as ApplySpecT).signal ?? {})) {
    const p = [...base, 'signal', name];
    const def = named(name, p, true);
    const full = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
    if (!/^SIG[A-Z0-9]+$/.test(full) || !(full in osConstants.signals))
      cx.problem(p, `'${shown(sig)}' is not a signal`, 'e.g. HUP, USR1, USR2, TERM, INT');
    else if (def) actions.push({ action: 'signal', service: name, signal: full, at: cx.at(p) });
  }
  if (actions.length) c.serviceActions = actions;
}
