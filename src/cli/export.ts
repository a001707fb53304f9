import { OutputDir } from '../engine/output.js';
import { UsageError } from '../errors.js';
import { concatFiles, renderExport, FORMATS, type Format } from '../export/index.js';
import { loadLab } from '../lab/resolve.js';

export async function run(
  file: string,
  opts: { stage?: string; node: string; format: string; output?: string; allowPartial?: boolean },
): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(opts.format))
    throw new UsageError(`unknown format '${opts.format}'`, `formats: ${FORMATS.join(', ')}`);
  const lab = loadLab(file);
  // a format that cannot express a route or rule of the node refuses here (exit 2), before any file is written
  const { files, leftOut } = await renderExport(lab, opts.node, opts.stage, opts.format as Format, {
    allowPartial: opts.allowPartial,
  });
  for (const l of leftOut) process.stderr.write(`nslab export: left out: ${l.note}\n`);
  if (leftOut.length)
    process.stderr.write(
      `nslab export: ${leftOut.length} route${leftOut.length === 1 ? '' : 's'} and rules left out ` +
        `(--allow-partial); each is marked where it would have been\n`,
    );
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
