// nslab's side of the probe agents (helper.ts): one per node that a tcp, udp
// or flows probe uses, started at first need and kept until the lab is handed
// back (stopAgents). Each agent keeps one listener per protocol on a random
// port for the probes that name no port; a probe that names a port gets its
// own listener, closed after it (a later test may expect that port refused).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../engine/lab.js';
import { inNamespace } from '../engine/runner.js';
import { diesWithUs } from '../capture/tcpdump.js';
import { refuseIfClosed } from '../capture/closed.js';

/** The built probe helper: dist/probes/helper.js, found from src/probes, dist/probes and dist/bin alike. */
export const HELPER = fileURLToPath(new URL('../../dist/probes/helper.js', import.meta.url));

export interface Peer {
  proto: string;
  port: number;
  remote: string;
  rport: number;
}
type Answer = Record<string, unknown> & { id?: number; error?: string };

export class Agent {
  private next = 1;
  private pending = new Map<number, (a: Answer) => void>();
  /** Every peer the node's listeners have had, in order. */
  readonly peers: Peer[] = [];
  private defaults = new Map<string, Promise<number>>();
  private stderr = '';
  private exited: Promise<void>;
  private gone = false;

  private constructor(
    readonly node: string,
    private child: ChildProcess,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((res) =>
      child.on('close', () => {
        this.gone = true;
        for (const [, answer] of this.pending) answer({ error: this.exitedMessage() });
        this.pending.clear();
        res();
      }),
    );
  }

  static async start(node: string, ns: string): Promise<Agent> {
    const argv = inNamespace(ns, diesWithUs([process.execPath, HELPER]));
    const agent = new Agent(node, spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = new Promise<void>((res, rej) => {
      const t = setTimeout(
        () =>
          rej(
            new Error(
              `the probe agent in node '${node}' did not start within 5 s: ${agent.stderr.trim() || 'no output'}`,
            ),
          ),
        5000,
      );
      agent.child.on('close', () => {
        clearTimeout(t);
        rej(new Error(agent.exitedMessage()));
      });
      createInterface({ input: agent.child.stdout! }).on('line', (line) => {
        let a: Answer & { ev?: string; ready?: boolean };
        try {
          a = JSON.parse(line) as Answer & { ev?: string; ready?: boolean };
        } catch {
          return;
        }
        if (a.ready) {
          clearTimeout(t);
          res();
        } else if (a.ev === 'peer') agent.peers.push(a as unknown as Peer);
        else if (a.id !== undefined) {
          agent.pending.get(a.id)?.(a);
          agent.pending.delete(a.id);
        }
      });
    });
    agent.child.stdin!.on('error', () => {
      /* exited: pending requests are answered by close */
    });
    try {
      await ready;
    } catch (e) {
      agent.stop();
      throw e;
    }
    return agent;
  }

  private exitedMessage(): string {
    return `the probe agent in node '${this.node}' exited: ${this.stderr.trim() || 'no output'}`;
  }

  /**
   * One request; rejects with the agent's error, at once if the agent has exited, and
   * after the request's own time (its timeout, its transfer) and 10 s more if the agent
   * never answers: a probe must not wait for ever.
   */
  request<T = Answer>(op: string, args: Record<string, unknown>): Promise<T> {
    if (this.gone) return Promise.reject(new Error(this.exitedMessage()));
    const id = this.next++;
    const limit = ANSWER_MS + (Number(args.timeout) || 0) + (Number(args.ms) || 0);
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        rej(new Error(`the probe agent in node '${this.node}' did not answer '${op}' within ${limit} ms`));
      }, limit);
      this.pending.set(id, (a) => {
        clearTimeout(t);
        if (a.error && !('outcome' in a)) rej(new Error(a.error));
        else res(a as T);
      });
      this.child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  /** The port of this node's own listener for probes that name none (opened once, on a free random port). */
  defaultPort(proto: 'tcp' | 'udp'): Promise<number> {
    let p = this.defaults.get(proto);
    if (!p) {
      p = (async () => {
        for (let tries = 0; ; tries++) {
          const port = randomPort();
          try {
            await this.request('listen', { proto, port });
            return port;
          } catch (e) {
            if (tries >= 5) throw e; // taken by a lab service: another port
          }
        }
      })();
      this.defaults.set(proto, p);
      p.catch(() => this.defaults.delete(proto));
    }
    return p;
  }

  /** Our own child, by its handle; its end is not awaited (it holds nothing nslab reads). */
  stop(): void {
    this.child.kill('SIGKILL');
  }

  get done(): Promise<void> {
    return this.exited;
  }
}

/** Beyond a request's own time, how long an agent may take to answer it. */
const ANSWER_MS = 10_000;

export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

const agents = new WeakMap<Lab, Map<string, Promise<Agent>>>();

/**
 * The node's agent, started at first need (concurrent callers share one start); refused once the lab's probes are
 * closed.
 */
export function agentOf(lab: Lab, node: string): Promise<Agent> {
  try {
    refuseIfClosed(lab, `the probe agent in node '${node}'`);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  let perLab = agents.get(lab);
  if (!perLab) agents.set(lab, (perLab = new Map<string, Promise<Agent>>()));
  let a = perLab.get(node);
  if (!a) {
    a = Agent.start(node, lab.ns(node));
    perLab.set(node, a);
    const mine = a;
    a.then(
      (x) =>
        x.done.then(() => {
          if (perLab.get(node) === mine) perLab.delete(node);
        }),
      () => perLab.delete(node),
    );
  }
  return a;
}

/** Stops every agent of the lab. */
export async function stopAgents(lab: Lab): Promise<void> {
  const perLab = agents.get(lab);
  agents.delete(lab);
  await Promise.all(
    [...(perLab?.values() ?? [])].map((a) =>
      a.then(
        (x) => x.stop(),
        () => {},
      ),
    ),
  );
}
