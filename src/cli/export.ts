import { OutputDir } from '../engine/output.js';
import { UsageError } from '../errors.js';
import { concatFiles, exportNode, FORMATS, type Format } from '../export/index.js';
import { loadLab } from '../lab/resolve.js';

export async function run(
  file: string,
  opts: { stage?: string; node: string; format: string; output?: string },
): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(opts.format))
    throw new UsageError(`unknown format '${opts.format}'`, `formats: ${FORMATS.join(', ')}`);
  const lab = loadLab(file);
  const files = await exportNode(lab, opts.node, opts.stage, opts.format as Format);
  if (!opts.output) {
    process.stdout.write(concatFiles(files));
    return 0;
  }
  // -o DIR is a root directory: /etc/... lands in DIR/etc/... (netplan generate --root-dir reads it so).
  // Never the machine's own /: exporting is for carrying a fix by hand, not for applying it here.
  const out = OutputDir.open(opts.output, { create: true });
  if (out.real === '/')
    throw new UsageError(
      `-o ${opts.output} is the machine's own root: nslab export does not write this machine's configuration`,
      'write to a directory of your own (e.g. -o out) and copy the files to the target machine',
    );
  const rels = files.map((f) => f.path.replace(/^\/+/, ''));
  // every file is checked before any is written: a link on the way (DIR/etc -> /etc) leaves nothing half-exported
  for (const rel of rels) out.check(rel);
  for (const [i, f] of files.entries())
    process.stdout.write(`${out.write(rels[i]!, f.text, { mode: f.mode ?? 0o644 })}\n`);
  return 0;
}
