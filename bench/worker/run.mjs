#!/usr/bin/env node
/**
 * The worker's grading throughput, without Redis or PostgreSQL: one process
 * grades the example labs over and over through the same path a worker job
 * takes (`gradeSource` with `createBuiltinStages()` and the execa runner,
 * rubric lab-85, the cluster stage skipped as with `--cluster none`, labs
 * copied outside git as a worker's clones are), and
 * prints grades per second. For before/after comparisons of changes to the
 * shared packages (lazy loading must not slow the worker).
 *
 *   node bench/worker/run.mjs [--rounds 5] [--per-round 40] [--root <checkout>]
 *
 * `--root` grades with another checkout's built packages (`npx tsc -b` there),
 * e.g. a copy of the previous commit. Each round grades --per-round labs
 * (the four example labs in turn); the first round warms up and is not
 * counted; the median round is reported. Pinned to one core where taskset works.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const root = path.resolve(option('root', here));
const rounds = Number(option('rounds', '5'));
const perRound = Number(option('per-round', '40'));

if (!process.env.LABGRADER_BENCH_PINNED && spawnSync('taskset', ['-c', '0', 'true']).status === 0) {
  const r = spawnSync('taskset', ['-c', '0', process.execPath, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
    env: { ...process.env, LABGRADER_BENCH_PINNED: '1' },
  });
  process.exit(r.status ?? 1);
}

const load = (pkg, file = 'index.js') => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist', file)).href);
const { createBuiltinStages, limitYoungGeneration, loadRubric } = await load('builtin');
const { createExecaRunner } = await load('exec');
const { gradeSource } = await load('pipeline');
limitYoungGeneration(); // as the worker does at start-up

// Copies outside any git repository: a worker grades a clone whose .git it has dropped, so no git runs here either.
const work = mkdtempSync(path.join(os.tmpdir(), 'labgrader-worker-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const labs = ['lab-85-passing', 'lab-85-flawed-probes', 'lab-85-flawed-secrets', 'lab-85-flawed-docs'].map((name) => {
  cpSync(path.join(here, 'examples', name), path.join(work, name), { recursive: true });
  return path.join(work, name);
});
const rubric = await loadRubric('lab-85', root);
const deps = { runner: createExecaRunner(), stages: createBuiltinStages({ env: process.env }) };

const perSecond = [];
let score = 0;
for (let round = 0; round <= rounds; round++) {
  const started = performance.now();
  for (let i = 0; i < perRound; i++) {
    const dir = labs[i % labs.length];
    const report = await gradeSource(
      { kind: 'directory', path: dir, displayPath: path.basename(dir) },
      { rubric, skip: { cluster: 'bench' } },
      deps,
    );
    if (report.status !== 'graded') throw new Error(`${dir}: ${report.status}`);
    score += report.score.percent;
  }
  if (round > 0) perSecond.push(perRound / ((performance.now() - started) / 1000));
}
const sorted = [...perSecond].sort((a, b) => a - b);
console.log(
  `${path.relative(process.cwd(), root) || '.'}: ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} grades/s (median of ${rounds} rounds of ${perRound}; rounds ${sorted.map((x) => x.toFixed(1)).join(', ')}); ` +
    `Node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; mean score ${(score / ((rounds + 1) * perRound)).toFixed(1)}%`,
);
