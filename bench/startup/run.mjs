#!/usr/bin/env node
/**
 * Start-up benchmark: what a user waits for when running labgrader on a small
 * lab, side by side with `node -e 0` (the floor for any Node.js command) and
 * the peer linters, in the same run, interleaved so that background load
 * falls on all alike, each pinned to one core.
 *
 *   node bench/startup/run.mjs [--runs 15] [--before <checkout>]
 *
 * Needs `npm run build` (the bundle, bin/labgrader.cjs, and the unbundled
 * apps/cli/dist/main.js it is compared with). The lab is
 * examples/lab-85-passing (13 files, 7 Kubernetes documents), copied to a
 * temporary folder outside any git repository, and once more as a git
 * repository of its own (a student's clone: labgrader then reads its commit
 * with git, two more processes). labgrader's compile cache lives in a
 * private directory, warmed by one run first (what every run after a user's
 * first sees); one row shows the bundle without it.
 *
 * The target (the small-repository issue): `labgrader lint` of the lab
 * within 2.5× of `node -e 0`, wall time, medians. Printed, never asserted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KUBE_SCORE_ARGS, TRIVY_ARGS, goModuleVersion, which } from '../peers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const results = path.join(root, 'bench', 'results');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = Number(option('runs') ?? 15);
/** Another checkout (e.g. the previous commit, built), whose `labgrader` — its bin — runs in the same rounds. */
const before = option('before') && path.resolve(option('before'));
const TARGET = 2.5;

const bin = path.join(root, 'apps/cli/bin/labgrader.cjs');
const bundle = path.join(root, 'apps/cli/dist/labgrader.cjs');
const unbundled = path.join(root, 'apps/cli/dist/main.js');
for (const file of [bundle, unbundled]) {
  if (!existsSync(file)) {
    console.error(`bench/startup: ${path.relative(root, file)} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'labgrader-startup-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const plain = path.join(work, 'lab');
cpSync(path.join(root, 'examples/lab-85-passing'), plain, { recursive: true });
const clone = path.join(work, 'clone');
cpSync(plain, clone, { recursive: true });
const git = (...a) => execFileSync('git', a, { cwd: clone, stdio: 'ignore' });
git('init', '-q', '-b', 'main');
git('add', '-A');
git('-c', 'user.name=Student', '-c', 'user.email=student@example.invalid', 'commit', '-q', '-m', 'lab 85');
const yamlFiles = ['k8s'].flatMap((d) =>
  execFileSync('find', [path.join(plain, d), '-name', '*.yaml'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort(),
);

const cacheDir = path.join(results, 'startup-cache');
rmSync(cacheDir, { recursive: true, force: true });
const env = { ...process.env, LABGRADER_CACHE_DIR: cacheDir, NO_COLOR: '1' };
const node = process.execPath;
const lint = ['lint', '--no-progress'];

/** The rows, in the order they run in each round. */
const rows = [
  { name: 'node -e 0', command: [node, ['-e', '0']] },
  { name: 'labgrader --help', command: [bin, ['--help']] },
  { name: 'labgrader lint <lab>', target: true, command: [bin, [...lint, plain]] },
  { name: 'labgrader lint <lab>, its own git repository', command: [bin, [...lint, clone]] },
  {
    name: 'labgrader lint <lab>, bundle without compile cache',
    command: [bin, [...lint, plain]],
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
  { name: 'unbundled: node apps/cli/dist/main.js --help', command: [node, [unbundled, '--help']] },
  { name: 'unbundled: node apps/cli/dist/main.js lint <lab>', command: [node, [unbundled, ...lint, plain]] },
];
if (before) {
  const manifest = JSON.parse(readFileSync(path.join(before, 'apps/cli/package.json'), 'utf8'));
  const beforeBin = path.join(before, 'apps/cli', manifest.bin.labgrader);
  rows.push(
    { name: `before (${path.basename(before)}): labgrader --help`, command: [node, [beforeBin, '--help']] },
    { name: `before (${path.basename(before)}): labgrader lint <lab>`, command: [node, [beforeBin, ...lint, plain]] },
  );
}
const kubeScore = which('kube-score');
const trivy = which('trivy');
if (kubeScore) {
  const v = goModuleVersion(kubeScore, 'github.com/zegl/kube-score');
  rows.push({
    name: `kube-score ${v ?? ''} score <lab's manifests>`.replace('  ', ' '),
    command: [kubeScore, [...KUBE_SCORE_ARGS, ...yamlFiles]],
  });
}
if (trivy) {
  const v = goModuleVersion(trivy, 'github.com/aquasecurity/trivy');
  const trivyCache = path.join(work, 'trivy-cache');
  rows.push({
    name: `trivy ${v ?? ''} fs <lab>`.replace('  ', ' '),
    command: [trivy, [...TRIVY_ARGS, '--cache-dir', trivyCache, plain]],
  });
}
const missing = [!kubeScore && 'kube-score', !trivy && 'trivy'].filter(Boolean);
if (missing.length > 0) {
  console.error(
    `${'='.repeat(72)}\nNOT AVAILABLE: ${missing.join(', ')}: left out (build them with bench/peers.sh). Carrying on.\n${'='.repeat(72)}`,
  );
}

/** Every command runs under /usr/bin/time, pinned to core 0 where taskset works. */
const timed = [
  ...(spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : []),
  '/usr/bin/time',
];

/** One run: wall time (ns clock here), user+system CPU and peak RSS (from /usr/bin/time), exit code. */
function measure(row) {
  const [command, commandArgs] = row.command;
  const started = process.hrtime.bigint();
  const r = spawnSync(timed[0], [...timed.slice(1), '-f', '%U %S %M', command, ...commandArgs], {
    cwd: root,
    env: { ...env, ...row.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  const [user, sys, rss] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (!Number.isFinite(rss)) throw new Error(`${row.name} failed: ${r.stderr.slice(0, 500)}`);
  return { wall, cpu: (user + sys) * 1000, rssKb: rss, code: r.status, stdout: r.stdout };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// Warm-up: the compile cache (one per command) and the file system cache.
for (const row of rows) measure(row);
const loadBefore = loadavg();
const samples = rows.map(() => []);
for (let i = 0; i < runs; i++) rows.forEach((row, j) => samples[j].push(measure(row)));
const loadAfter = loadavg();

const base = median(samples[0].map((s) => s.wall));
const summary = rows.map((row, j) => {
  const s = samples[j];
  return {
    name: row.name,
    wallMs: median(s.map((x) => x.wall)),
    minWallMs: Math.min(...s.map((x) => x.wall)),
    cpuMs: median(s.map((x) => x.cpu)),
    peakRssMb: Math.max(...s.map((x) => x.rssKb)) / 1024,
    exitCodes: [...new Set(s.map((x) => x.code))],
    target: row.target === true,
  };
});

const cells = summary.map((r) => [
  r.name,
  r.wallMs.toFixed(0),
  r.minWallMs.toFixed(0),
  (r.wallMs / base).toFixed(2),
  r.cpuMs.toFixed(0),
  r.peakRssMb.toFixed(0),
  r.exitCodes.join(','),
]);
const headers = ['command', 'wall ms (median)', 'min', '× node -e 0', 'CPU ms', 'peak RSS MB', 'exit'];
const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
const line = (c) => `| ${c.map((x, i) => String(x).padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\n${runs} interleaved runs per command, each pinned to one core; ${os.cpus().length} cores, load average ${loadBefore} before, ${loadAfter} after; Node ${process.version}.`,
);
console.log([line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.map(line)].join('\n'));
const target = summary.find((r) => r.target);
const ratio = target.wallMs / base;
console.log(
  `\nlabgrader lint of a small lab: ${ratio.toFixed(2)}× node -e 0 (target ≤ ${TARGET}×): ${ratio <= TARGET ? 'met' : 'NOT met'}.`,
);
mkdirSync(results, { recursive: true });
writeFileSync(
  path.join(results, 'startup.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, load: { before: loadBefore, after: loadAfter }, rows: summary }, null, 2)}\n`,
);
console.log('results in bench/results/startup.json');
