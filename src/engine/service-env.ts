// What a service runs as and where: its user (checked to exist on this machine
// before anything is created, a located error otherwise) and its working
// directory (the same). A service with a user runs through `setpriv`, which
// drops to the user's uid, primary group and groups after `ip netns exec` has
// entered the node (entering a namespace needs root) and then execs the
// program: the pid nslab records is the program's.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { LabFileError, type Problem } from '../errors.js';
import type { LabModel, ServiceModel } from '../lab/model.js';

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
}

/** A user of this machine by name or uid (through NSS, as login does), or undefined. */
export function lookupUser(user: string): UserIds | undefined {
  const r = spawnSync('getent', ['passwd', user], { encoding: 'utf8' });
  const f = r.status === 0 ? r.stdout.split('\n')[0]!.split(':') : [];
  if (f.length < 4) return undefined;
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) };
}

/** The argv that runs a service's program as its user. */
export function asUser(ids: UserIds | undefined, argv: string[]): string[] {
  return ids ? ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--init-groups', ...argv] : argv;
}

/** Every service of the lab (its nodes' and its stages'), with its node. */
function services(model: LabModel): { node: string; s: ServiceModel }[] {
  return [
    ...model.nodes.flatMap((n) => n.config.services.map((s) => ({ node: n.name, s }))),
    ...model.stages.flatMap((st) => [...st.apply].flatMap(([node, c]) => c.services.map((s) => ({ node, s })))),
  ];
}

/** Checks what a lab's services need of this machine: their users and working directories. */
export function checkServiceHosts(model: LabModel): void {
  const problems: Problem[] = [];
  const at = (s: ServiceModel) => ({ file: s.at.file, line: s.at.line, col: s.at.col });
  for (const { node, s } of services(model)) {
    if (s.user !== undefined && !lookupUser(s.user))
      problems.push({
        ...at(s),
        message: `service '${s.name}' of node '${node}': user '${s.user}' does not exist on this machine`,
        hint: "name a user that 'getent passwd USER' finds, or create it (useradd --system USER)",
      });
    if (s.cwd !== undefined) {
      const st = statSync(s.cwd, { throwIfNoEntry: false });
      if (!st?.isDirectory())
        problems.push({
          ...at(s),
          message: `service '${s.name}' of node '${node}': cwd ${s.cwd} ${st ? 'is not a folder' : 'does not exist'}`,
          hint: "a relative cwd is taken from the lab file's folder",
        });
    }
  }
  if (problems.length) throw new LabFileError(problems);
}
