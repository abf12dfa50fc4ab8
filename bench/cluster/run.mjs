#!/usr/bin/env node
/**
 * The cluster stage's cost per submission, phase by phase, on this machine:
 * the passing example lab graded with a rubric's cluster stage, through the
 * same path a worker job takes (gradeSource with createBuiltinStages and the
 * execa runner), on a fresh kind cluster per submission (the offline node
 * image of test/kind-offline/) and on a warm one from the cluster pool
 * (packages/cluster/src/pool.ts, as a worker with CLUSTER_WARM_POOL), then the
 * throughput with several submissions at once, fresh and warm.
 *
 *   eval "$(test/kind-offline/env.sh)"
 *   node bench/cluster/run.mjs [--rubric lab-85] [--runs 2] [--concurrency 1,2,4] [--only fresh|warm] [--trace]
 *
 * --trace prints every progress message of each grading with its time from
 * the submission's start (where the seconds of a phase go).
 *
 * Phases come from the stage's own progress messages (each lasts until the
 * next message): create (kind create + nodes Ready + kube-proxy/CoreDNS), load
 * images, isolation (admission policies, namespaces, guard rails), apply,
 * Ready (waiting for the workloads, the baseline probe), each drill, the
 * steady-state watch (liveness probes must get the time to act), teardown
 * (a fresh cluster: deleting it; a warm one: handing it back, its namespaces
 * then go in the background and the next submission waits for that, which
 * shows as "take warm cluster").
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const rubricId = option('rubric', 'lab-85');
const runs = Number(option('runs', '2'));
const only = option('only', 'both');
const trace = args.includes('--trace');
const levels = option('concurrency', '1,2')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

if (!process.env.LABGRADER_KIND_NODE_IMAGE) {
  console.error('bench/cluster: run `eval "$(test/kind-offline/env.sh)"` first (kind, kubectl and the node image).');
  process.exit(2);
}

const load = (pkg, file = 'index.js') => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist', file)).href);
const { createBuiltinStages, loadRubric } = await load('builtin');
const { planClusterStage } = await load('builtin', 'cluster-plan.js');
const { createExecaRunner } = await load('exec');
const { createKindClusterPool, clusterSettingsSchema, resolveClusterConfig } = await load('cluster');
const { gradeSource } = await load('pipeline');

const work = mkdtempSync(path.join(os.tmpdir(), 'labgrader-cluster-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const execa = createExecaRunner();
/** With --trace (and LABGRADER_BENCH_COMMANDS=1), every command too, with its time and duration. */
let traceStart = 0;
const traceCommands = trace && process.env.LABGRADER_BENCH_COMMANDS === '1';
const runner = traceCommands
  ? {
      async run(command, args, options) {
        const t = performance.now();
        try {
          return await execa.run(command, args, options);
        } finally {
          const shown = [path.basename(command), ...args.filter((a) => !a.startsWith('--kubeconfig'))].join(' ');
          console.log(
            `    ${((t - traceStart) / 1000).toFixed(2).padStart(7)} s  +${Math.round(performance.now() - t)} ms  ${shown.slice(0, 160)}`,
          );
        }
      },
    }
  : execa;
const planned = await planClusterStage({
  mode: 'kind',
  rubric: await loadRubric(rubricId, root),
  runner,
  env: process.env,
  caller: 'cli',
});

const PHASES = [
  ['wait for slot', /^waiting for a cluster slot/],
  ['take warm cluster', /^(waiting for a warm cluster|grading in the warm kind cluster)/],
  ['create', /^(creating kind cluster|waiting for \d+ worker|waiting for kube-proxy)/],
  ['load images', /^(loading|reusing) \d+ image/],
  ['isolation', /admission policies|API discovery|^creating \d+ namespace|guard rails/],
  ['apply', /^applying \d+ object/],
  ['Ready', /^(waiting for|stopped waiting|probing|reading the manifests)/],
  ['pod kill', /^pod kill/],
  ['container kill', /^container kill/],
  ['bad rollout', /^bad rollout/],
  ['secret rotation', /^secret rotation/],
  ['readiness gate', /^readiness gate/],
  ['node failure', /^node failure/],
  ['node drain', /^node drain/],
  ['steady-state watch', /^watching the Ready pods/],
  ['teardown', /^(deleting the kind cluster|gave warm cluster)/],
];
const phaseOf = (message) => PHASES.find(([, re]) => re.test(message))?.[0] ?? 'other';

let copies = 0;
async function gradeOnce(pool) {
  const dir = path.join(work, `lab-${copies++}`);
  cpSync(path.join(root, 'examples', 'lab-85-passing'), dir, { recursive: true });
  const marks = [];
  let clusterEnd;
  const t0 = performance.now();
  traceStart = t0;
  const report = await gradeSource(
    { kind: 'directory', path: dir },
    { rubric: planned.rubric, skip: planned.skip },
    {
      runner,
      stages: createBuiltinStages({ env: process.env, ...(pool ? { clusterPool: pool } : {}) }),
      onEvent: (e) => {
        if (trace && e.type === 'stage-start') console.log(`    ${fmt((performance.now() - t0) / 1000)}  [${e.stage}]`);
        if (e.stage !== 'cluster') return;
        if (trace && e.type === 'progress') console.log(`    ${fmt((performance.now() - t0) / 1000)}  ${e.message}`);
        if (e.type === 'progress') marks.push([performance.now(), phaseOf(e.message)]);
        if (e.type === 'stage-end') clusterEnd = performance.now();
      },
    },
  );
  const total = (performance.now() - t0) / 1000;
  if (trace) {
    for (const e of report.evidence ?? [])
      if (/timeline|steady-state|bad-rollout|pod-kill|container-kill/.test(e.label))
        console.log(`    evidence ${e.label}: ${e.detail.replace(/\n/g, '\n      ')}`);
  }
  const phases = {};
  marks.forEach(([at, phase], i) => {
    const next = i + 1 < marks.length ? marks[i + 1][0] : (clusterEnd ?? at);
    phases[phase] = (phases[phase] ?? 0) + (next - at) / 1000;
  });
  const cluster = report.criteria.filter((c) => c.stage === 'cluster');
  return {
    total,
    phases,
    score: `${report.score.points}/${report.score.maxPoints}`,
    cluster: cluster.map((c) => `${c.id} ${c.points}/${c.maxPoints}`).join(', '),
    status: report.status,
  };
}

const fmt = (s) => `${s.toFixed(1).padStart(6)} s`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(`bench/cluster: rubric ${rubricId}, the passing example`);
console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`);
console.log(
  'target (issue 13): a warm-pool grading of the passing lab with the Lab 85 drills in under 20 s end to end\n',
);

const clusterConfig = resolveClusterConfig(
  clusterSettingsSchema.parse(planned.rubric.stages.cluster.settings ?? {}),
  process.env,
);
/** The pool's warnings and errors go to stderr: a pool that cannot make its clusters says why. */
const quiet = {
  debug() {},
  info() {},
  warn: (message, fields) => console.error(`pool: ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => console.error(`pool: ${message} ${JSON.stringify(fields ?? {})}`),
  child: () => quiet,
};
/** A pool of `size` warm clusters, made before the clock starts (a worker makes them at start-up). */
async function warmPool(size) {
  const pool = createKindClusterPool({
    size,
    maxJobsPerCluster: 50,
    runner,
    logger: quiet,
    namePrefix: 'lgbench-warm',
  });
  const t0 = performance.now();
  pool.prewarm(clusterConfig);
  await pool.idle();
  const stats = pool.stats();
  if (stats.ready !== size) throw new Error(`the pool made ${stats.ready} of ${size} clusters`);
  console.log(
    `  (pool of ${size} warm cluster${size === 1 ? '' : 's'} made in ${fmt((performance.now() - t0) / 1000)}, not counted)`,
  );
  return pool;
}

function phaseTable(title, results) {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.phases)))].sort(
    (a, b) => PHASES.findIndex(([n]) => n === a) - PHASES.findIndex(([n]) => n === b),
  );
  console.log(`\n${title} (median of ${results.length})`.padEnd(30) + 'time');
  for (const name of names) console.log(`  ${name.padEnd(28)}${fmt(median(results.map((r) => r.phases[name] ?? 0)))}`);
  console.log(`  ${'end to end'.padEnd(28)}${fmt(median(results.map((r) => r.total)))}`);
}

async function sequential(label, pool) {
  console.log(`\n== ${label}: ${runs} submissions one after the other`);
  const results = [];
  for (let i = 0; i < runs; i++) {
    // A submission that finds the pool ready (the previous job's namespaces are cleaned up in the background
    // between submissions; back to back, the next one waits for that: see the concurrent runs).
    await pool?.idle();
    const r = await gradeOnce(pool);
    results.push(r);
    console.log(`run ${i + 1}: ${fmt(r.total)} end to end, ${r.status} ${r.score} (${r.cluster})`);
  }
  phaseTable(`phase, ${label}`, results);
  return results;
}

async function concurrent(label, makePool) {
  console.log(`\n== ${label}: concurrent submissions`);
  for (const n of levels) {
    const pool = makePool ? await makePool(n) : undefined;
    try {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: n }, () => gradeOnce(pool)));
      const wall = (performance.now() - t0) / 1000;
      const ok = results.filter((r) => r.status === 'graded').length;
      console.log(
        `  ${String(n).padStart(2)} at once: ${fmt(wall)} wall, ${((n / wall) * 60).toFixed(2)} submissions/min, ` +
          `slowest ${fmt(Math.max(...results.map((r) => r.total)))}, ${ok}/${n} graded (${results.map((r) => r.score).join(' ')})`,
      );
    } finally {
      await pool?.close();
    }
  }
}

let fresh;
let warm;
if (only !== 'warm') {
  fresh = await sequential('fresh cluster per submission');
}
if (only !== 'fresh') {
  const pool = await warmPool(1);
  try {
    warm = await sequential('warm cluster from the pool', pool);
  } finally {
    await pool.close();
  }
}
if (fresh && warm) {
  const f = median(fresh.map((r) => r.total));
  const w = median(warm.map((r) => r.total));
  console.log(`\nwarm vs fresh: ${fmt(w)} vs ${fmt(f)} end to end (${((1 - w / f) * 100).toFixed(0)}% less)`);
}
if (warm) {
  const w = median(warm.map((r) => r.total));
  console.log(`target < 20 s warm: ${w < 20 ? 'MET' : `NOT MET (${w.toFixed(1)} s)`}`);
}
if (only !== 'warm') await concurrent('fresh clusters (each submission its own)');
if (only !== 'fresh') await concurrent('warm clusters (a pool of n for n at once)', warmPool);
