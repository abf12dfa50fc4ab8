#!/usr/bin/env node
/**
 * Lints one directory with labgrader's lint stage (built packages) and
 * prints a JSON summary on stdout: documents, seconds, peak RSS and each
 * finding's check and file. Run by run.mjs under `taskset -c 0`.
 *
 *   node bench/lint/labgrader-lint.mjs <dir> [--repeat N] [--sync-read]
 *
 * --sync-read replaces @labgrader/repo's openRepoFiles (async, five
 * syscalls per file, symlink and size checks) with a minimal adapter that
 * reads every file synchronously up front, inside the timed region. It
 * shows what the lint engine itself costs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openRepoFiles } from '../../packages/repo/dist/index.js';
import { decodeUtf8 } from '../../packages/core/dist/index.js';
import { lintRepository } from '../../packages/manifest-lint/dist/index.js';
import { limitYoungGeneration } from '../../packages/builtin/dist/runtime.js';

// As the CLI and the worker do at start-up: measure what users run.
limitYoungGeneration();

/** Reads the whole tree synchronously into an in-memory RepoFiles (benchmark only). */
function syncRepo(root) {
  const files = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(rel);
      } else if (entry.isFile()) files.set(rel, readFileSync(path.join(root, rel)));
    }
  };
  walk('');
  const entries = [...files]
    .map(([p, b]) => ({ path: p, kind: 'file', size: b.length }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const readBytes = async (p, options = {}) => {
    const bytes = files.get(p);
    if (!bytes) return { ok: false, problem: 'not-found', message: `${p} does not exist` };
    if (bytes.length > (options.maxBytes ?? 10 * 1024 * 1024))
      return { ok: false, problem: 'too-large', size: bytes.length, message: 'too large' };
    return { ok: true, value: bytes, size: bytes.length };
  };
  return {
    root,
    list: async () => entries,
    stat: async (p) => entries.find((e) => e.path === p),
    readBytes,
    readText: async (p, options) => {
      const result = await readBytes(p, options);
      if (!result.ok) return result;
      const text = decodeUtf8(result.value);
      return text === undefined
        ? { ok: false, problem: 'not-utf8', message: 'not UTF-8' }
        : { ok: true, value: text, size: result.size };
    },
  };
}

const dir = process.argv[2];
const repeatIndex = process.argv.indexOf('--repeat');
const repeat = repeatIndex > 0 ? Number(process.argv[repeatIndex + 1]) : 1;
const syncRead = process.argv.includes('--sync-read');
if (!dir) {
  console.error('usage: labgrader-lint.mjs <dir> [--repeat N] [--sync-read]');
  process.exit(2);
}

const started = performance.now();
let result;
for (let i = 0; i < repeat; i++) {
  const repo = syncRead ? syncRepo(path.resolve(dir)) : await openRepoFiles(dir, { maxEntries: 200_000 });
  result = await lintRepository(repo, { settings: { maxFiles: 1_000_000 } });
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  JSON.stringify({
    tool: 'labgrader',
    documents: result.stats.objects * repeat,
    seconds,
    maxRssKb: process.resourceUsage().maxRSS,
    findings: result.findings.map((f) => ({ check: f.checkId, file: f.location?.file ?? '' })),
  }),
);
