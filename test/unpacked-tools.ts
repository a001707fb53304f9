// The programs scripts/bootstrap.sh's nslab_export_tools unpacks into
// .tools/root (ifupdown's ifup, netplan's generator, NetworkManager's nmcli),
// with the libraries unpacked beside them, as the export tests run them: a
// program whose libraries cannot all be found is not run but skipped, with the
// missing ones named (a missing library is this machine's lack, not a failure
// of the export).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const TOOLS_ROOT = join(process.cwd(), '.tools/root');

/** The unpacked library directories (lib/x86_64-linux-gnu, usr/lib/x86_64-linux-gnu, ...). */
function libraryDirs(): string[] {
  const out: string[] = [];
  for (const base of ['lib', 'usr/lib']) {
    const dir = join(TOOLS_ROOT, base);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    out.push(...names.filter((n) => /-linux-gnu/.test(n)).map((n) => join(dir, n)), dir);
  }
  return out;
}

export interface UnpackedTool {
  path: string;
  /** the environment to run it in: the unpacked libraries first */
  env: NodeJS.ProcessEnv;
  /** why it cannot run here, or undefined when it can */
  missing?: string;
}

/** An unpacked program (a path under .tools/root), and whether it can run here. */
export function unpackedTool(rel: string): UnpackedTool {
  const path = join(TOOLS_ROOT, rel);
  const libs = libraryDirs().join(':');
  const env = { ...process.env, LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  if (!existsSync(path))
    return { path, env, missing: `.tools/root/${rel} is not unpacked (scripts/test unpacks it as root, with apt-get)` };
  // ldd resolves as the loader will, with the same LD_LIBRARY_PATH; a script is "not a dynamic executable"
  const r = spawnSync('ldd', [path], { encoding: 'utf8', env });
  if (r.error) return { path, env, missing: `ldd could not check ${rel}'s libraries: ${r.error.message}` };
  const notFound = [...r.stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  const noVersion = [...(r.stdout + r.stderr).matchAll(/version `([^']+)' not found/g)].map((m) => m[1]!);
  if (notFound.length || noVersion.length)
    return {
      path,
      env,
      missing:
        `${rel} cannot run here: ${[...notFound, ...noVersion.map((v) => `symbol version ${v}`)].join(', ')} not found ` +
        "(scripts/bootstrap.sh's nslab_export_tools could not unpack its dependencies)",
    };
  return { path, env };
}
