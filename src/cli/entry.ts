// The `nslab` executable (bundled as CommonJS into dist/bin/main.js). It
// answers `--version`, takes a lab down by instance name, and brings a lab up
// from a file without options, without loading the full CLI: Node's ES module
// loader, commander and the verbs' modules cost ~20-30 ms at every start, more
// than the kernel's work of a `down`. Anything else, and anything the fast
// `down` does not handle (a file argument, an error to report), goes to the
// full CLI (dist/bin/cli.mjs), which does the same work in the same way
// (teardown is idempotent).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { fastDown } from './fast-down.js';
import type * as FastUpModule from './fast-up.js';

type FastUp = typeof FastUpModule;

declare const NSLAB_VERSION: string | undefined; // set by the build

// variables, so the bundler leaves these to run time
const CLI = './cli.mjs';
const UP = './up.js';
const full = () => void import(CLI).then((m: { cli: () => void }) => m.cli());

const [verb, arg, ...rest] = process.argv.slice(2);
if ((verb === '--version' || verb === '-V') && arg === undefined && typeof NSLAB_VERSION === 'string')
  process.stdout.write(`${NSLAB_VERSION}\n`);
else if (verb === 'down' && arg !== undefined && !arg.startsWith('-') && !rest.length)
  fastDown(arg).then((code) => {
    if (code === undefined) full();
    else process.exitCode = code;
  }, full);
else if (verb === 'up' && arg !== undefined && !arg.startsWith('-') && !rest.length)
  void (loadCompiled(UP) as FastUp).fastUp(arg).then((code) => {
    process.exitCode = code;
  });
else full();

/**
 * Loads a CommonJS file of this directory with V8's code cache for it (FILE.cache,
 * written by the build with this Node): compiling dist/bin/up.js costs ~15 ms
 * at every `up`, reading its cache ~1 ms. Node 20 keeps no such cache itself.
 * A cache from another Node or V8 is refused by V8, and the file is compiled as usual.
 */
function loadCompiled(file: string): unknown {
  const path = join(__dirname, file);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${path}.cache`);
  } catch {
    /* none: compiled as usual */
  }
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(path, 'utf8')}\n})`,
    { filename: path, cachedData },
  );
  const module = { exports: {} };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, require, module, path, dirname(path));
  return module.exports;
}
