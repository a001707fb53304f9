// nslab as a user gets it: the repository packed by `npm pack` (what `npm publish` would upload: the files of
// package.json's `files`, dist/ as built now), installed into a new project in a temporary directory. npm reads
// from its cache first (prefer-offline): the registry is asked only for what the cache lacks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** npm's settings for the tests' installs: cache first, no audit, fund or update notices (said to nobody). */
export const NPM_ENV = {
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** Packs the repository into dir; returns the tarball's path. The build must be current (scripts/build.sh). */
export function packNslab(dir: string): string {
  if (!existsSync('dist/index.js')) throw new Error('dist/ is missing: run scripts/build.sh before packing');
  const r = spawnSync('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], {
    encoding: 'utf8',
    env: { ...process.env, ...NPM_ENV },
  });
  if (r.status !== 0) throw new Error(`npm pack failed (${r.status}): ${r.stderr}`);
  const tgz = readdirSync(dir).find((f) => /^nslab-.*\.tgz$/.test(f));
  if (!tgz) throw new Error(`npm pack left no nslab-*.tgz in ${dir}`);
  return join(dir, tgz);
}

/** Runs a shell command line in dir with npm's test settings; output without colour. */
export function shellIn(dir: string, line: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', ['-c', line], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...NPM_ENV, FORCE_COLOR: '0', NO_COLOR: '1', ...env },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}
