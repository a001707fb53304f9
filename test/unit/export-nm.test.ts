// The NetworkManager export checked by NetworkManager's own nmcli (1.42, from
// Debian's package unpacked into .tools by scripts/bootstrap.sh): the exported
// `nmcli connection add` commands, run with --offline (which checks every
// setting as NM does and prints the keyfile it would write, touching no
// daemon), must give the same connections as the exported keyfiles. No root.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportNode } from '../../src/export/index.js';
import { loadLab } from '../../src/lab/resolve.js';
import { caseSlug, FIX_CASES } from '../export-cases.js';
import { unpackedTool } from '../unpacked-tools.js';

const nm = unpackedTool('usr/bin/nmcli');
const NMCLI = nm.path;

type Keyfile = Record<string, Record<string, string>>;

/**
 * Keyfiles (one or more, each starting at [connection]) as section -> key -> value, without what nmcli makes up itself.
 */
function parseKeyfiles(text: string): Keyfile[] {
  const out: Keyfile[] = [];
  let section: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      if (m[1] === 'connection') out.push({});
      section = out.at(-1)![m[1]!] = {};
      continue;
    }
    const [k, ...v] = line.split('=');
    if (['uuid', 'addr-gen-mode'].includes(k!)) continue;
    section[k!] = v.join('=');
  }
  for (const k of out) for (const s of Object.keys(k)) if (!Object.keys(k[s]!).length) delete k[s];
  return out;
}

// without it (or its libraries), the reason is shown as a skipped test
if (nm.missing) describe('export nm: nmcli --offline', () => it.skip(`export nm: ${nm.missing}`, () => {}));

describe.skipIf(!!nm.missing)('export nm: nmcli --offline makes the same connections as the keyfiles', () => {
  for (const c of FIX_CASES)
    it(`${caseSlug(c)}`, async () => {
      // a refused route is left out of both alike
      const files = await exportNode(loadLab(`labs/${c.lab}.yaml`), c.node, c.stage, 'nm', { allowPartial: true });
      const dir = mkdtempSync(join(tmpdir(), 'nslab-nm-'));
      // `nmcli` in the script is NM's own, offline: it prints the keyfile instead of asking a daemon
      writeFileSync(join(dir, 'nmcli'), `#!/bin/sh\nexec ${NMCLI} --offline "$@"\n`);
      chmodSync(join(dir, 'nmcli'), 0o755);
      const script = files.find((f) => f.path.endsWith('-nmcli.sh'))!;
      writeFileSync(join(dir, 'script.sh'), script.text);
      const made = execFileSync('sh', [join(dir, 'script.sh')], {
        encoding: 'utf8',
        env: { ...nm.env, PATH: `${dir}:${process.env.PATH}` },
      });
      const keyfiles = files.filter((f) => f.path.endsWith('.nmconnection'));
      expect(keyfiles.every((f) => f.mode === 0o600)).toBe(true);
      expect(parseKeyfiles(made)).toEqual(keyfiles.flatMap((f) => parseKeyfiles(f.text)));
      expect(readdirSync(dir).sort()).toEqual(['nmcli', 'script.sh']); // --offline wrote nothing
    });
});

it.skipIf(!!nm.missing)('nmcli --offline refuses a bad rule (the check can fail)', () => {
  expect(() =>
    execFileSync(
      NMCLI,
      [
        '--offline',
        'connection',
        'add',
        'type',
        'ethernet',
        'ifname',
        'eth9',
        'ipv4.routing-rules',
        'from 10.0.0.1 table 5',
      ],
      {
        env: nm.env,
        stdio: 'pipe',
      },
    ),
  ).toThrow(/priority/);
});
