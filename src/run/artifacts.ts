// Where a run keeps its artifacts (pcaps of failures, the logs of services that
// failed to start) when the user named no folder: one private directory per
// process (mkdtemp, 0700), never a fixed path in /tmp, made only once something
// is kept.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

export function privateArtifacts(): string {
  return (dir ??= mkdtempSync(join(tmpdir(), 'nslab-artifacts-')));
}
