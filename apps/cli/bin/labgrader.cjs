#!/usr/bin/env node
/**
 * The `labgrader` command (package.json "bin"). This file is in the
 * repository, so npm links it on the first `npm install`, before anything is
 * built; it runs the bundle that `npm run build` writes (dist/labgrader.cjs,
 * see scripts/bundle.mjs) and says so when there is none yet.
 *
 * It also gives the bundle V8's code cache, so later runs do not compile
 * what earlier runs compiled: Node's own (`module.enableCompileCache()`,
 * Node ≥ 22.1), or on older Node the same by hand, per command, with
 * `vm.Script` cached data, written once after a successful run.
 * NODE_DISABLE_COMPILE_CACHE=1 turns either off; the cache lives in
 * `${LABGRADER_CACHE_DIR:-~/.cache/labgrader}/compile-cache`, and any
 * problem with it only means compiling as usual.
 * LABGRADER_DEBUG_COMPILE_CACHE=1 says on stderr whether it was used;
 * LABGRADER_DEBUG=1 (full stack traces) loads the bundle with its source map
 * instead, so that they name the TypeScript sources.
 *
 * CommonJS and no dependencies, to start as fast as `node` itself can.
 */
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose (see above) */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const bundle = path.join(__dirname, '..', 'dist', 'labgrader.cjs');
const debug = Boolean(process.env.LABGRADER_DEBUG);
const useCache = !process.env.NODE_DISABLE_COMPILE_CACHE;
const cacheDir = path.join(
  process.env.LABGRADER_CACHE_DIR || path.join(os.homedir(), '.cache', 'labgrader'),
  'compile-cache',
);

let bytes;
try {
  bytes = fs.readFileSync(bundle);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
  process.stderr.write(
    `labgrader: the command is not built yet (${path.relative(process.cwd(), bundle) || bundle} is missing).\n` +
      `hint: run \`npm run build\` in ${path.resolve(__dirname, '..', '..', '..')}, then run labgrader again.\n`,
  );
  process.exit(2);
}

// The same rule as limitYoungGeneration() (packages/builtin/src/runtime.ts), which the bundle
// applies again at start-up: applied here, before compiling, because V8 accepts a code cache only
// under the flags it was made with.
if (!/semi[-_]space/.test([...process.execArgv, process.env.NODE_OPTIONS || ''].join(' '))) {
  require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
}

const Module = require('node:module');
if (debug) {
  // Stack traces that name the TypeScript sources (dist/labgrader.cjs.map), at the cost of the cache.
  process.setSourceMapsEnabled(true);
  require(bundle);
} else if (typeof Module.enableCompileCache === 'function') {
  if (useCache) {
    const status = Module.enableCompileCache(cacheDir);
    if (process.env.LABGRADER_DEBUG_COMPILE_CACHE) {
      process.stderr.write(`labgrader: compile cache: Node's (${JSON.stringify(status)})\n`);
    }
  }
  require(bundle);
} else {
  runWithCodeCache();
}

/** Node < 22.1: compile the bundle through vm.Script with cached data kept per command. */
function runWithCodeCache() {
  const vm = require('node:vm');
  const stat = fs.statSync(bundle);
  // The cache belongs to this bundle (rebuilt → new key) and this Node; V8 checks its own version and flags.
  const key = `${stat.size}:${Math.trunc(stat.mtimeMs)}:${process.version}:${process.arch}\n`;
  // One cache per command (and one for its --help): each compiles different code, and a cache is
  // written only when there is none (or V8 refused it), after the run, with what the run compiled.
  const command = /^[a-z]+$/.test(process.argv[2] || '') ? process.argv[2] : 'none';
  const help = process.argv.slice(2).some((a) => ['--help', '-h', '--version', '-V'].includes(a));
  const cacheFile = path.join(cacheDir, `labgrader-${command}${help ? '-help' : ''}.bin`);
  let cachedData;
  if (useCache) {
    try {
      const stored = fs.readFileSync(cacheFile);
      const header = Buffer.from(key);
      if (stored.length > header.length && stored.subarray(0, header.length).equals(header)) {
        cachedData = stored.subarray(header.length);
      }
    } catch {
      // no cache yet
    }
  }
  // scripts/bundle.mjs writes ASCII where it can: read as Latin-1, it becomes a one-byte string.
  const source = require('node:buffer').isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  if (process.env.LABGRADER_DEBUG_COMPILE_CACHE) {
    const state = accepted ? 'used' : cachedData ? 'rejected' : 'none yet';
    process.stderr.write(`labgrader: compile cache: ${state} (${cacheFile})\n`);
  }
  if (useCache && !accepted) {
    process.once('exit', (code) => {
      if (code !== 0 && code !== 1) return; // a usage error or a crash compiled little of the command
      const temp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        fs.writeFileSync(temp, Buffer.concat([Buffer.from(key), script.createCachedData()]));
        fs.renameSync(temp, cacheFile); // whole or not at all, also with several runs at once
      } catch {
        // a read-only home, a full disk: next time compiles as usual
        try {
          fs.rmSync(temp, { force: true });
        } catch {
          // nothing was written
        }
      }
    });
  }
  const bundleModule = { exports: {}, id: bundle, filename: bundle };
  script
    .runInThisContext()
    .call(
      bundleModule.exports,
      bundleModule.exports,
      Module.createRequire(bundle),
      bundleModule,
      bundle,
      path.dirname(bundle),
    );
}
