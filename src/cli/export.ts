import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
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
  // -o DIR is a root directory: /etc/... lands in DIR/etc/... (netplan generate --root-dir reads it so)
  for (const f of files) {
    const path = join(opts.output, f.path.replace(/^\/+/, ''));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.text, { mode: f.mode ?? 0o644 });
    chmodSync(path, f.mode ?? 0o644);
    process.stdout.write(`${path}\n`);
  }
  return 0;
}
