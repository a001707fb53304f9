import { chmodSync, lstatSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { concatFiles, exportNode, FORMATS, type Format } from '../export/index.js';
import { loadLab } from '../lab/resolve.js';

export async function run(file: string, opts: { stage?: string; node: string; format: string; output?: string }): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(opts.format)) throw new UsageError(`unknown format '${opts.format}'`, `formats: ${FORMATS.join(', ')}`);
  const lab = loadLab(file);
  const files = await exportNode(lab, opts.node, opts.stage, opts.format as Format);
  if (!opts.output) {
    process.stdout.write(concatFiles(files));
    return 0;
  }
  // -o DIR is a root directory: /etc/... lands in DIR/etc/... (netplan generate --root-dir reads it so).
  // Never the machine's own /: exporting is for carrying a fix by hand, not for applying it here.
  mkdirSync(opts.output, { recursive: true });
  if (realpathSync(opts.output) === '/') throw new UsageError(`-o ${opts.output} is the machine's own root: nslab export does not write this machine's configuration`, 'write to a directory of your own (e.g. -o out) and copy the files to the target machine');
  for (const f of files) {
    const path = join(opts.output, f.path.replace(/^\/+/, ''));
    mkdirSync(dirname(path), { recursive: true });
    // a link in its place is not followed: written through, it could land anywhere
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new UsageError(`${path} is a symbolic link: nslab export does not write through links`, 'remove it, or write to an empty directory');
    writeFileSync(path, f.text, { mode: f.mode ?? 0o644 });
    chmodSync(path, f.mode ?? 0o644);
    process.stdout.write(`${path}\n`);
  }
  return 0;
}
