// Files per node (issue 20): each host node of a lab has a mount namespace of its own, held for the lab's life
// by a bind mount of it on STATE/mnt/NS (as `ip netns` holds a network namespace on /run/netns/NS). In it:
//
//   - /run (and /var/run where it is not a link to /run) is a tmpfs of the node's own: pid files and sockets of
//     two copies of one daemon never meet, and nothing written there reaches the machine;
//   - /sys is the node's (as `ip netns exec` does), and /etc/netns/NS/* is bound over /etc/* (table names,
//     etc-netns.ts), so the node reads as it does through `ip netns exec`;
//   - every folder that a file of `files:` lands in gets an overlay whose upper layer is a tmpfs: the node sees
//     the machine's folder plus its own files, and writes there (its files, or the daemon's) stay in the node.
//     The folder overlaid is the nearest that exists on the machine (/etc for /etc/keepalived/x.conf where
//     /etc/keepalived does not exist), after following links; mounts under it (a container's /etc/hosts, a
//     rootless holder's /etc/netns) are carried over onto the overlay.
//
// Everything that runs *as* the node enters this namespace with its network namespace: services, `exec` tests,
// readiness commands, `nslab exec` and `nslab shell` (runner.inNamespace with etc). nslab's own probes and
// captures enter the network namespace only.
//
// Nothing of it is on the machine's file system: the tmpfs's and overlays exist in the node's namespace only,
// and go with it. The one trace outside is STATE/mnt/NS, recorded in the lab's state before it is made; down,
// a failed up and cleanup unmount and remove it. The bind needs a mount that is not shared (the kernel refuses a
// namespace file bound into a shared mount, as that could loop): NS is first bound onto itself, private.
import {
  mkdirSync,
  openSync,
  closeSync,
  existsSync,
  lstatSync,
  readdirSync,
  realpathSync,
  rmdirSync,
  statSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { EnvironmentError, LabFileError, type Problem } from '../errors.js';
import type { FileModel, LabModel } from '../lab/model.js';
import { nsName, parseNsName } from '../plan/names.js';
import type { Runner } from './runner.js';
import { lookupUser } from './service-env.js';
import { stateDir } from './state.js';

/** The file that holds a node's mount namespace; refuses any name that is not one of nslab's. */
export function mountFileOf(ns: string, dir = stateDir()): string {
  if (!parseNsName(ns)) throw new Error(`internal: '${ns}' is no namespace of nslab's`);
  return join(dir, 'mnt', ns);
}

/** Whether a node has a mount namespace of its own (a lab brought up before files per node has none). */
export function hasMountNs(ns: string): boolean {
  return existsSync(mountFileOf(ns));
}

/** The folders that are the node's own already: a tmpfs each. */
const PRIVATE = ['/run'];

/** Every file a node has, at its base and in any stage: its mount namespace is made for all of them at once. */
export function nodeFiles(model: LabModel, node: string): FileModel[] {
  return [
    ...(model.nodes.find((n) => n.name === node)?.config.files ?? []),
    ...model.stages.flatMap((s) => s.apply.get(node)?.files ?? []),
  ];
}

/** Where a file lands in its node: the node's own folder it is written under, and its path below that folder. */
export interface Target {
  /** The folder overlaid for the file, or the node's private /run: the write starts there. */
  base: string;
  /** The path below base, component by component (never followed through a link in the node). */
  rel: string;
}

/**
 * Where a file lands: the path written in the node (links of the machine followed, once, here), and the folder
 * overlaid for it (undefined inside the node's private /run). A path whose nearest existing folder is / (or in
 * /proc, /sys, /dev after links) is refused: nslab never overlays those; so is one under a file of the machine, one
 * that is a folder of the machine, and one in /etc/iproute2 (the node's table names are bound there from
 * /etc/netns, which is the machine's: a file there would be written onto the machine).
 */
export function landing(
  path: string,
): { target: string; base: string; overlay?: string } | { problem: string; hint?: string } {
  let dir = dirname(path);
  while (dir !== '/' && !existsSync(dir)) dir = dirname(dir);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    return { problem: `cannot read ${dir} on this machine (${(e as NodeJS.ErrnoException).code})` };
  }
  if (!statSync(real).isDirectory())
    return { problem: `${dir} is a file on this machine, not a folder`, hint: 'a file cannot be under a file' };
  const target = join(real, relative(dir, path));
  if (dir === dirname(path) && isFolder(target))
    return { problem: `${path} is a folder on this machine: a file cannot replace it`, hint: 'name a file in it' };
  if (target === '/etc/iproute2' || target.startsWith('/etc/iproute2/'))
    return {
      problem: `${path} is in /etc/iproute2, where a node's table names are the machine's /etc/netns/NS/iproute2`,
      hint: "name routing tables with the lab's 'tables:'; nslab never writes /etc/iproute2",
    };
  const priv = PRIVATE.find((p) => real === p || real.startsWith(`${p}/`));
  if (priv) return { target, base: priv };
  if (real === '/')
    return { problem: `no folder of ${dirname(path)} exists on this machine, and nslab does not overlay /` };
  if (['/proc', '/sys', '/dev'].some((p) => real === p || real.startsWith(`${p}/`)))
    return { problem: `${path} lands in ${real}, which is the kernel's` };
  if (/[,:\\\n]/.test(real)) return { problem: `${real} contains ',', ':' or '\\', which an overlay cannot name` };
  return { target, base: real, overlay: real };
}

/** Whether a path is a folder of the machine (not through a link at its last component: a link is replaced). */
function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface NodeMount {
  ns: string;
  /** Folders to overlay, outermost first. */
  overlays: string[];
  /** Where each file is written in the node, planned once at up (a link that appears later is never followed). */
  targets: Map<string, Target>;
}

/**
 * Without root (inside nslab's own user, network, mount and PID namespaces: a rootless `nslab test`, a holder of
 * `nslab up` or `nslab run`) the kernel refuses, at times, to bind a node's mount namespace (EINVAL, on Linux 6.18;
 * the same lab passed by hand and failed in the suite's rootless-verdicts test): there nodes keep the run's own view
 * (its private /run), and a lab with files is refused, so that rootless and root never give different verdicts by
 * chance.
 */
// NSLAB_ROOTLESS is rootless.ts's ROOTLESS_ENV, spelled out: importing rootless.ts from here makes an import cycle
// (capabilities.ts) that leaves its constants undefined at start-up. A rootless `nslab test` removes that variable
// once inside (its services must not inherit it) and says so with markRootlessRun: an earlier check of the variable
// alone let such a run make mount namespaces after all. Not the user namespace: root in a user-namespaced container
// is root, and keeps files and mount namespaces per node.
let rootlessRun = false;
/** Called by a rootless `nslab test` once inside its namespaces (rootless.ts's enterRootless). */
export function markRootlessRun(): void {
  rootlessRun = true;
}
export const withoutRoot = () => process.env.NSLAB_HOLDER === '1' || process.env.NSLAB_ROOTLESS === '1' || rootlessRun;

/**
 * Whether a node gets a mount namespace of its own: where it has files, or runs services (in its base or any
 * stage), whose pid files and sockets in /run must not meet another node's copy. Other nodes run nothing of the
 * user's that could collide, and the mount namespaces cost bring-up and teardown time (1.3 s more for the four
 * nodes of labs/dual-nic-reply-path.yaml, decisions.md): they keep the host's view, as before.
 */
export function wantsOwnMounts(model: LabModel, node: string): boolean {
  const configs = [model.nodes.find((n) => n.name === node)?.config, ...model.stages.map((s) => s.apply.get(node))];
  return configs.some((c) => c && (c.files.length > 0 || c.services.length > 0));
}

/** Without root, a lab with files per node is refused (withoutRoot says why): a located error at its first file. */
export function refuseFilesWithoutRoot(model: LabModel): void {
  const f = model.nodes.flatMap((n) => nodeFiles(model, n.name).map((file) => ({ node: n.name, file })))[0];
  if (!f) return;
  throw new LabFileError([
    {
      file: f.file.at.file,
      line: f.file.at.line,
      col: f.file.at.col,
      message: `file ${f.file.path} of node '${f.node}': files per node are not available without root (nslab test, up or run as an ordinary user)`,
      hint: 'run this lab as root',
    },
  ]);
}

/** The mount namespaces of the nodes that want one: their overlays from their files. Located errors for files that cannot land. */
export function planMounts(model: LabModel, instance: string): NodeMount[] {
  const problems: Problem[] = [];
  if (withoutRoot()) {
    refuseFilesWithoutRoot(model);
    return [];
  }
  const out = model.nodes
    .filter((n) => n.kind === 'host' && wantsOwnMounts(model, n.name))
    .map((n) => {
      const overlays = new Set<string>();
      const targets = new Map<string, Target>();
      const spelled = new Map<string, FileModel>();
      for (const f of nodeFiles(model, n.name)) {
        const l = landing(f.path);
        if ('problem' in l) {
          problems.push({
            file: f.at.file,
            line: f.at.line,
            col: f.at.col,
            message: `file ${f.path} of node '${n.name}': ${l.problem}`,
            hint: l.hint ?? 'put it in a folder that exists on this machine (e.g. /etc/APP/), or in /run',
          });
          continue;
        }
        const other = spelled.get(l.target);
        if (other && other.path !== f.path) {
          problems.push({
            file: f.at.file,
            line: f.at.line,
            col: f.at.col,
            message: `file ${f.path} of node '${n.name}' is ${other.path} (${other.at.file}:${other.at.line}:${other.at.col}) by another name: both land in ${l.target}`,
            hint: 'name each file once, by one path',
          });
          continue;
        }
        spelled.set(l.target, f);
        targets.set(f.path, { base: l.base, rel: relative(l.base, l.target) });
        if (l.overlay) overlays.add(l.overlay);
      }
      // outermost first: a deeper overlay is then mounted on the outer one's view
      const sorted = [...overlays].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
      return { ns: nsName(instance, n.name), overlays: sorted, targets };
    });
  if (problems.length) throw new LabFileError(problems);
  return out;
}

/** Checks that every file's owner is a user of this machine (a located error otherwise). */
export function fileOwnerProblems(model: LabModel): Problem[] {
  const problems: Problem[] = [];
  for (const n of model.nodes)
    for (const f of nodeFiles(model, n.name))
      if (f.owner !== undefined && !lookupUser(f.owner))
        problems.push({
          file: f.at.file,
          line: f.at.line,
          col: f.at.col,
          message: `file ${f.path} of node '${n.name}': owner '${f.owner}' does not exist on this machine`,
          hint: "name a user that 'getent passwd USER' finds, or a uid",
        });
  return problems;
}

// Inside the node's new mount namespace (already in its network namespace): $1 the node's /etc/netns folder
// (or ''), then the folders to overlay. A staging tmpfs holds the overlays' upper layers and, while the
// overlays are mounted, the mounts found under each overlaid folder; it is detached at the end (the overlays
// keep it alive, out of every path).
const SETUP_SH = String.raw`set -e
etc=$1; shift
mount -t tmpfs -o mode=0755,nosuid,nodev nslab-run /run
if [ -d /var/run ] && [ ! -L /var/run ]; then mount -t tmpfs -o mode=0755,nosuid,nodev nslab-run /var/run; fi
umount -l /sys 2>/dev/null || true
mount -t sysfs -o nosuid,nodev,noexec nslab-sys /sys
s=/run/.nslab-staging
mkdir -m 0700 $s
mount -t tmpfs -o mode=0700 nslab-files $s
if [ -n "$etc" ] && [ -d "$etc" ]; then mkdir $s/etc; mount --bind "$etc" $s/etc; fi
k=0
for d; do
  k=$((k+1))
  mkdir $s/u$k $s/w$k
  # the overlay's root takes the upper layer's mode and owner: the machine's folder's (/tmp stays 1777)
  chown --reference="$d" $s/u$k
  chmod --reference="$d" $s/u$k
  # mounts under d (seen as mount points, unescaped ones only), outermost first: carried over onto the overlay
  subs=$(awk -v d="$d/" 'index($5, d) == 1 && $5 !~ /\\/ { print $5 }' /proc/self/mountinfo | sort -u)
  j=0; kept=
  for m in $subs; do
    for o in $kept; do case $m in "$o"/*) continue 2;; esac; done
    j=$((j+1)); kept="$kept $m"
    if [ -d "$m" ]; then mkdir $s/k$k.$j; else touch $s/k$k.$j; fi
    mount --rbind "$m" $s/k$k.$j
  done
  mount -t overlay -o "lowerdir=$d,upperdir=$s/u$k,workdir=$s/w$k" nslab-files "$d"
  j=0
  for m in $kept; do j=$((j+1)); mount --rbind $s/k$k.$j "$m"; umount -l $s/k$k.$j; done
done
if [ -d $s/etc ]; then
  for e in $s/etc/*; do t=/etc/\${e##*/}; if [ -e "$e" ] && [ -e "$t" ]; then mount --bind "$e" "$t"; fi; done
  umount -l $s/etc
fi
umount -l $s
rmdir $s
`.replace('\\${', '${');

/**
 * Makes a node's mount namespace. `made` is called once STATE/mnt/NS exists (created exclusively: one that exists
 * is someone else's, and is reported as taken), so that a failure after it still unwinds it.
 */
export async function makeMount(
  m: NodeMount,
  etcDir: string | undefined,
  runner: Runner,
  made: () => void,
): Promise<void> {
  const f = mountFileOf(m.ns);
  mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(f, 'wx', 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new EnvironmentError(
        `${f} already exists: instance of namespace ${m.ns} is up under this state directory's record, or a leftover`,
        "'nslab cleanup' removes what a dead run left",
      );
    throw e;
  }
  made();
  const bind = await runner.run({ argv: ['sh', '-c', 'mount --bind "$1" "$1" && mount --make-private "$1"', 'sh', f] });
  if (bind.exitCode !== 0) throw mountError(m.ns, bind.stderr);
  const r = await runner.run({
    argv: [
      'unshare',
      `--mount=${f}`,
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      SETUP_SH,
      'sh',
      etcDir ?? '',
      ...m.overlays,
    ],
    ns: m.ns,
  });
  if (r.exitCode !== 0) throw mountError(m.ns, r.stderr);
}

function mountError(ns: string, stderr: string): Error {
  return new EnvironmentError(
    `cannot make the mount namespace of ${ns} (its own /run and files): ${stderr.trim().split('\n').slice(-3).join('; ')}`,
    "'nslab doctor' shows what this machine supports; a rootless lab needs Linux 5.11 for overlays",
  );
}

// Writes one file in the node, as its owner with its mode: $1 the node's own folder it lands under (an overlay nslab
// made, or the node's /run), $2 the path below it. Nothing is followed through a link in the node (the overlay's
// lower layer is the live machine's folder, where anyone may make a link after up): the walk goes down from the
// folder one component at a time, refusing a link, making a missing folder alone (mkdir fails if something
// appeared), and checking after each `cd -P` that the real folder is the one expected (a swap between the check and
// the cd). The file is made exclusively beside the name (set -C), then renamed over it relative to the folder
// (rename replaces a link at the last component, never follows it; a folder there is refused).
const WRITE_SH = `set -eC
base=$1; rel=$2
fail() { echo "$*" >&2; exit 1; }
own=$(awk -v b="$base" '$5 == b { i = 6; while ($i != "-") i++; f = ($(i + 2) == "nslab-files" || $(i + 2) == "nslab-run") } END { print f + 0 }' /proc/self/mountinfo)
[ "$own" = 1 ] || fail "$base is not a folder of the node's own (no overlay of nslab's there): refused"
cd -P -- "$base"
[ "$(pwd -P)" = "$base" ] || fail "$base is not itself in the node (a link?): refused"
here=$base
case $rel in */*) dirs=\${rel%/*};; *) dirs=;; esac
name=\${rel##*/}
set -f; IFS=/
for c in $dirs; do
  [ -L "$c" ] && fail "$here/$c is a link in the node: nslab never follows one for a file's folder"
  [ -e "$c" ] || mkdir -m 0755 -- "$c"
  cd -P -- "$c"
  here=$here/$c
  [ "$(pwd -P)" = "$here" ] || fail "$here became a link in the node: refused"
done
IFS=' '
[ -d "$name" ] && [ ! -L "$name" ] && fail "$here/$name is a folder in the node: refused"
t=.nslab-$$
cat > "$t"
chown -h "$3" "$t"
chmod "$4" "$t"
mv -fT -- "$t" "$name" || { rm -f -- "$t"; exit 1; }
`;

/** Writes files into a node's mount namespace (at bring-up, its base files; at a stage, the stage's). */
export async function writeFiles(
  ns: string,
  files: FileModel[],
  targets: Map<string, Target>,
  runner: Runner,
): Promise<void> {
  const f = mountFileOf(ns);
  for (const file of files) {
    // no owner: root's, or in a rootless lab (whose user namespace maps only the user) the user's own
    const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const ids = file.owner !== undefined ? lookupUser(file.owner) : self;
    if (!ids) throw new LabFileError([ownerMissing(file)]);
    if (self.uid !== 0 && ids.uid !== self.uid)
      throw new LabFileError([
        {
          ...ownerMissing(file),
          message: `file ${file.path}: a rootless lab's files belong to its user (uid ${self.uid}); owner '${file.owner}' cannot be set`,
          hint: 'leave owner out, or run the lab as root',
        },
      ]);
    const target = targets.get(file.path);
    if (!target) throw new Error(`internal: ${file.path} was not planned at up`);
    const r = await runner.run({
      argv: [
        'nsenter',
        `--mount=${f}`,
        '--',
        'sh',
        '-c',
        WRITE_SH,
        'sh',
        target.base,
        target.rel,
        `${ids.uid}:${ids.gid}`,
        file.mode.toString(8),
      ],
      input: file.content,
    });
    if (r.exitCode !== 0)
      throw new EnvironmentError(
        `cannot write ${file.path} in node ${parseNsName(ns)!.node} (${file.at.file}:${file.at.line}:${file.at.col}): ${r.stderr.trim()}`,
      );
  }
}

function ownerMissing(f: FileModel): Problem {
  return {
    file: f.at.file,
    line: f.at.line,
    col: f.at.col,
    message: `file ${f.path}: owner '${f.owner}' does not exist on this machine`,
    hint: "name a user that 'getent passwd USER' finds, or a uid",
  };
}

/**
 * Unmounts and removes the mount files of these namespaces (the namespace goes with its last process), then
 * STATE/mnt if it is empty. Twice `umount`: the namespace, then the private bind under it.
 */
export async function removeMounts(names: string[], runner: Runner): Promise<void> {
  if (!names.length) return;
  const files = names.map((ns) => mountFileOf(ns));
  await runner.run({
    argv: [
      'sh',
      '-c',
      'for f; do umount "$f" 2>/dev/null; umount "$f" 2>/dev/null; rm -f "$f"; done; true',
      'sh',
      ...files,
    ],
    uninterruptible: true,
  });
  try {
    rmdirSync(join(stateDir(), 'mnt'));
  } catch {
    /* other labs' namespaces are there, or it is gone */
  }
}

/**
 * The argv that enters a node as `nslab exec` does, for a caller that cannot see the state directory (a rootless
 * lab's, inside its holder at `dir`): the node's mount namespace if it has one, else `ip netns exec`.
 */
export function enterNodeArgv(ns: string, argv: string[], dir: string, cwd = process.cwd()): string[] {
  const sh = `f=$1 ns=$2 wd=$3; shift 3
case $wd in /run|/run/*|/var/run|/var/run/*) wd=/;; esac
if [ -e "$f" ]; then exec nsenter --net=/run/netns/"$ns" --mount="$f" -- sh -c 'cd -- "$1" 2>/dev/null || cd /; shift; exec "$@"' sh "$wd" "$@"; fi
exec ip netns exec "$ns" "$@"`;
  return ['sh', '-c', sh, 'sh', mountFileOf(ns, dir), ns, cwd, ...argv];
}

/** Mount files in the state directory (for cleanup's report of what no record explains). */
export function listMountFiles(): string[] {
  try {
    return readdirSync(join(stateDir(), 'mnt')).filter((n) => parseNsName(n));
  } catch {
    return [];
  }
}
