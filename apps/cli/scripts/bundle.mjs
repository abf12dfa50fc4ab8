#!/usr/bin/env node
/**
 * Bundles the labgrader command into one file, apps/cli/dist/labgrader.cjs,
 * which bin/labgrader.cjs runs (`npm run build` calls this after `tsc -b`).
 *
 * Why a bundle: unbundled, `labgrader lint` of a ten-file lab spent most of
 * its time resolving, reading and compiling ~450 ES modules of its own and of
 * its dependencies, most of which the command never used. One file is read
 * once, V8 compiles only the functions that run, and its code cache
 * (bin/labgrader.cjs) makes later runs skip even that.
 *
 *  - From the TypeScript sources, with workspace packages resolved to their
 *    `src/` the way jest does: the bundle never mixes in a stale `dist/`.
 *    `tsc -b` still type-checks everything first in `npm run build`.
 *  - CommonJS output, so that Node 20 can load it through `vm.Script` with a
 *    code cache (no `module.enableCompileCache()` before Node 22.1). Dynamic
 *    `import()`s inside the bundle become lazily evaluated modules: a module
 *    is evaluated when a command first imports it, not at start-up.
 *  - Workspace modules are declared free of side effects on import (they
 *    are: declarations only), so a command that uses one helper of a package
 *    does not evaluate the rest of it at start-up.
 *  - Data stays on disk, next to the packages that read it (rubrics/, the
 *    Kubernetes schemas, the Markdown parser's worker script): every
 *    `import.meta.url` is replaced by the URL of the module's own source file,
 *    so `new URL('../../schemas/…', import.meta.url)` finds what it found
 *    unbundled. The bundle therefore runs from its place in the repository.
 *
 *   node apps/cli/scripts/bundle.mjs [--outfile <file>] [--metafile]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenizer } from 'acorn';
import { build } from 'esbuild';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(cliDir, '..', '..');

/** `@labgrader/<name>[/<subpath>]` → the TypeScript source its package.json export points at. */
async function workspaceSource(specifier) {
  const match = /^@labgrader\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(specifier);
  if (!match) return undefined;
  const [, name, subpath] = match;
  for (const group of ['packages', 'apps']) {
    const dir = path.join(repoRoot, group, name);
    let manifest;
    try {
      manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const entry = manifest.exports?.[subpath ? `./${subpath}` : '.'];
    const target = typeof entry === 'string' ? entry : entry?.default;
    if (typeof target !== 'string' || !/^\.\/dist\/.+\.js$/.test(target)) {
      throw new Error(`${specifier}: ${group}/${name}/package.json exports no ./dist/*.js for it`);
    }
    return path.join(dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
  }
  return undefined;
}

/** Resolves and loads our own sources; `outDir` is where the bundle is written (for import.meta.url). */
const workspacePlugin = (outDir) => ({
  name: 'labgrader-workspace',
  setup(b) {
    b.onResolve({ filter: /^@labgrader\// }, async (args) => {
      const file = await workspaceSource(args.path);
      return file ? { path: file, sideEffects: false } : undefined;
    });
    // Relative imports inside our own sources: also free of side effects.
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData?.own !== true) return undefined;
      const result = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: { own: false },
      });
      return result.errors.length > 0 ? undefined : { ...result, sideEffects: false };
    });
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const rel = path.relative(repoRoot, args.path);
      if (!/^(?:packages|apps)\/[^/]+\/src\//.test(rel)) return undefined;
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const fromBundle = JSON.stringify(path.relative(outDir, args.path));
        contents = contents.replaceAll(
          'import.meta.url',
          `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${fromBundle})).href`,
        );
      }
      return { contents, loader: 'ts', resolveDir: path.dirname(args.path), pluginData: { own: true } };
    });
  },
});

/**
 * commander requires child_process (and with it net, streams, dgram…) for
 * executable subcommands, which labgrader has none of. In the bundle it gets
 * a stand-in that requires the real module the first time one of its
 * exports is read. This only works for CommonJS callers (`childProcess.spawn`
 * is read when called): esbuild copies every export of a CommonJS module
 * into an ES module that imports it, which would load it at once. So only
 * this one, whose start-up callers are CommonJS.
 */
const LAZY_BUILTINS = ['child_process'];
const lazyBuiltinsPlugin = {
  name: 'labgrader-lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(?:node:)?(?:${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (args) =>
      args.namespace === 'lazy-builtin'
        ? { path: args.path, external: true } // the stand-in's own require of the real module
        : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      loader: 'js',
      contents: `let real;
const load = () => (real ??= require(${JSON.stringify(`node:${args.path}`)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const d = Reflect.getOwnPropertyDescriptor(load(), key);
    return d && { ...d, configurable: true };
  },
});
`,
    }));
  },
};

/**
 * Makes the bundle plain ASCII where that changes nothing: esbuild already
 * escapes strings and identifiers, and leaves non-ASCII characters in regular
 * expression literals (`/['’]/`) and comments, where `\uXXXX` means the same.
 * An ASCII file is read as Latin-1 and compiled as a one-byte string, faster
 * than UTF-8 at every start (bin/labgrader.cjs checks). Anything else (the
 * raw text of a tagged template) is left alone, and the file stays UTF-8.
 * Returns the code and the offsets where a character became six.
 */
export function asciiWherePossible(code) {
  if (!/[\u0080-\uffff]/.test(code)) return { code, grown: [] };
  const ranges = [];
  const onComment = (_block, _text, start, end) => ranges.push([start, end]);
  for (const token of tokenizer(code, {
    ecmaVersion: 'latest',
    sourceType: 'script',
    allowHashBang: true,
    onComment,
  })) {
    if (token.type.label === 'regexp') ranges.push([token.start, token.end]);
  }
  let out = '';
  let at = 0;
  const grown = [];
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0])) {
    out += code.slice(at, start);
    for (let i = start; i < end; i++) {
      const unit = code.charCodeAt(i);
      if (unit < 0x80) out += code[i];
      else {
        grown.push(i);
        out += `\\u${unit.toString(16).padStart(4, '0')}`;
      }
    }
    at = end;
  }
  return { code: out + code.slice(at), grown };
}

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function decodeVlq(segment) {
  const values = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = VLQ.indexOf(c);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}
function encodeVlq(values) {
  return values
    .map((v) => {
      let n = v < 0 ? (-v << 1) | 1 : v << 1;
      let out = '';
      do {
        let digit = n & 31;
        n >>>= 5;
        if (n > 0) digit |= 32;
        out += VLQ[digit];
      } while (n > 0);
      return out;
    })
    .join('');
}

/** Moves the source map's generated columns past each character that became `\uXXXX` (5 more columns). */
export function shiftSourceMap(map, code, grown) {
  const lineStarts = [0];
  for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const byLine = new Map();
  let line = 0;
  for (const offset of grown) {
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= offset) line++;
    byLine.set(line, [...(byLine.get(line) ?? []), offset - lineStarts[line]]);
  }
  map.mappings = map.mappings
    .split(';')
    .map((segments, lineIndex) => {
      const columns = byLine.get(lineIndex);
      if (!columns || segments === '') return segments;
      let column = 0;
      let shifted = 0;
      return segments
        .split(',')
        .map((segment) => {
          const [delta, ...rest] = decodeVlq(segment);
          column += delta;
          const newColumn = column + 5 * columns.filter((c) => c < column).length;
          const out = encodeVlq([newColumn - shifted, ...rest]);
          shifted = newColumn;
          return out;
        })
        .join(',');
    })
    .join(';');
  return map;
}

export async function bundle({ outfile = path.join(cliDir, 'dist', 'labgrader.cjs'), metafile = false } = {}) {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(cliDir, 'src', 'bin.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: path.join(cliDir, 'tsconfig.json'),
    sourcemap: 'linked',
    legalComments: 'linked',
    // Less to read and to scan at every start; identifiers keep their names (stack traces, class names).
    minifyWhitespace: !process.env.LABGRADER_BUNDLE_READABLE,
    minifySyntax: !process.env.LABGRADER_BUNDLE_READABLE,
    metafile,
    logLevel: 'warning',
    plugins: [lazyBuiltinsPlugin, workspacePlugin(path.dirname(outfile))],
  });
  const original = await readFile(outfile, 'utf8');
  const { code, grown } = asciiWherePossible(original);
  if (grown.length > 0) {
    await writeFile(outfile, code);
    const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8'));
    await writeFile(`${outfile}.map`, JSON.stringify(shiftSourceMap(map, original, grown)));
  }
  if (result.metafile) await writeFile(`${outfile}.meta.json`, JSON.stringify(result.metafile));
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outfile');
  await bundle({
    ...(at >= 0 ? { outfile: path.resolve(args[at + 1]) } : {}),
    metafile: args.includes('--metafile'),
  });
}
