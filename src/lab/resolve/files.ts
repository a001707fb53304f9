// A node's `files:` (at its base or in a stage's apply): each an absolute path that only the node sees, with its
// content, mode and owner. Checked here for what the text alone says; the owner is looked up on the machine at
// bring-up (engine/service-env.ts), and the folder each path lands in at bring-up (engine/node-mounts.ts).
import { shown } from '../grammar.js';
import type { Path } from '../load.js';
import type { NodeConfig } from '../model.js';
import type { ResolveContext, Settings } from './context.js';

/** The most a file's content may hold (bytes): files are configuration, kept in memory and in a tmpfs. */
export const FILE_MAX_BYTES = 1024 * 1024;

/** Folders whose files are the kernel's or the devices': no node gets its own there. */
const REFUSED = ['/proc', '/sys', '/dev'];

/** Why a path cannot be a node's file, or undefined if it can. */
export function filePathProblem(path: string): { message: string; hint: string } | undefined {
  const hint = 'write an absolute path such as /etc/keepalived/keepalived.conf';
  if (!path.startsWith('/')) return { message: `'${shown(path)}' is not an absolute path`, hint };
  if (path.endsWith('/')) return { message: `'${shown(path)}' names a folder, not a file`, hint };
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '..' || p === '.' || p === ''))
    return { message: `'${shown(path)}' has an empty, '.' or '..' part`, hint: `${hint}, each part a name` };
  // the folder a file lands in is mounted over with an overlay, whose options separate folders with , and :
  if (/[\0\n\\,:]/.test(path))
    return { message: `'${shown(path)}' contains a NUL, a newline, \\, ',' or ':'`, hint: 'rename the file' };
  if (parts.length < 2)
    return {
      message: `'${shown(path)}' is a file directly in /`,
      hint: 'put it in a folder: nslab gives a node its own folder, never its own /',
    };
  const refused = REFUSED.find((r) => path.startsWith(`${r}/`));
  if (refused)
    return {
      message: `'${shown(path)}' is in ${refused}, which is the kernel's`,
      hint: 'files go in /etc, /run, /srv, ...',
    };
  return undefined;
}

export function resolveFiles(cx: ResolveContext, spec: Settings, base: Path, c: NodeConfig): void {
  for (const [path, f] of Object.entries(spec.files ?? {})) {
    const p: Path = [...base, 'files', path];
    const bad = filePathProblem(path);
    if (bad) {
      cx.problem(p, bad.message, bad.hint, true);
      continue;
    }
    const o = typeof f === 'string' ? { content: f } : f;
    const bytes = Buffer.byteLength(o.content);
    if (bytes > FILE_MAX_BYTES) {
      cx.problem(
        [...p, ...(typeof f === 'string' ? [] : ['content'])],
        `the content of ${path} is ${bytes} bytes; a node's file holds at most ${FILE_MAX_BYTES} (1 MiB)`,
        'files: is for configuration; put large data in a folder the node shares with the machine',
      );
      continue;
    }
    if (o.owner !== undefined && typeof o.owner === 'string' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(o.owner)) {
      cx.problem([...p, 'owner'], `'${shown(o.owner)}' is not a user name`, 'name a user of this machine, or a uid');
      continue;
    }
    c.files.push({
      path,
      content: o.content,
      mode: o.mode !== undefined ? parseInt(o.mode, 8) : 0o644,
      ...(o.owner !== undefined ? { owner: String(o.owner) } : {}),
      at: cx.at(p, true),
    });
  }
}
