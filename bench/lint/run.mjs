#!/usr/bin/env node
/**
 * Lint benchmark: labgrader's lint stage against kube-linter, kube-score and
 * Trivy on the same files, on one core (`taskset -c 0`), measuring documents
 * per second and peak RSS, and which planted course problems each tool reports.
 *
 *   node bench/lint/run.mjs [--docs 10000] [--runs 3] [--slow-runs 1]
 *
 * Needs the packages built (`npx tsc -b packages/manifest-lint packages/repo`,
 * run.sh does it). Other linters are looked up on PATH and in
 * ${LABGRADER_CACHE_DIR:-~/.cache/labgrader}/bin (bench/peers.sh builds
 * them there); a missing one is reported loudly and left out. Trivy takes
 * minutes on the corpus, so it runs `--slow-runs` times there (default 1);
 * everything else runs `--runs` times, interleaved.
 * Results go to bench/results/ (ignored by git), a table to stdout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KUBE_LINTER_ARGS,
  KUBE_SCORE_ARGS,
  PARSERS,
  PROBLEM_CHECKS,
  TRIVY_ARGS,
  goModuleVersion,
  mappedTo,
  peerBin,
  which,
} from '../peers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const results = path.join(root, 'bench', 'results');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const docs = arg('docs', '10000');
const runs = Number(arg('runs', '3'));
const slowRuns = Number(arg('slow-runs', '1'));
const corpus = path.join(results, 'corpus');

function filesUnder(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? filesUnder(full) : /\.ya?ml$/.test(name) ? [full] : [];
    })
    .sort();
}

/** Runs a command pinned to core 0 under /usr/bin/time; returns wall seconds, peak RSS (KB) and stdout. */
function measure(command, commandArgs) {
  const started = process.hrtime.bigint();
  const result = spawnSync('taskset', ['-c', '0', '/usr/bin/time', '-f', '%e %M', command, ...commandArgs], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const timing = result.stderr.trim().split('\n').pop() ?? '';
  const [timed, rss] = timing.split(' ').map(Number);
  if (!Number.isFinite(timed)) throw new Error(`${command} failed: ${result.stderr.slice(0, 500)}`);
  // Wall time measured here (nanosecond clock; /usr/bin/time rounds to 10 ms), peak RSS from /usr/bin/time.
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  return { wall, rssKb: rss, stdout: result.stdout };
}

function tools() {
  const node = process.execPath;
  const list = [
    {
      name: 'labgrader',
      parse: 'labgrader',
      available: existsSync(path.join(root, 'packages/manifest-lint/dist/index.js')),
      command: (dir) => [node, ['bench/lint/labgrader-lint.mjs', dir]],
    },
    {
      name: 'labgrader, sync file reads',
      parse: 'labgrader',
      available: existsSync(path.join(root, 'packages/manifest-lint/dist/index.js')),
      command: (dir) => [node, ['bench/lint/labgrader-lint.mjs', dir, '--sync-read']],
    },
  ];
  const kubeLinter = which('kube-linter');
  list.push({
    name: 'kube-linter',
    parse: 'kube-linter',
    available: Boolean(kubeLinter),
    command: (dir) => [kubeLinter, [...KUBE_LINTER_ARGS, dir]],
  });
  const kubeScore = which('kube-score');
  list.push({
    name: 'kube-score',
    parse: 'kube-score',
    version: kubeScore && goModuleVersion(kubeScore, 'github.com/zegl/kube-score'),
    available: Boolean(kubeScore),
    // kube-score takes files, not directories.
    command: (dir) => [kubeScore, [...KUBE_SCORE_ARGS, ...filesUnder(dir)]],
  });
  const trivy = which('trivy');
  list.push({
    name: 'trivy',
    parse: 'trivy',
    slow: true,
    version: trivy && goModuleVersion(trivy, 'github.com/aquasecurity/trivy'),
    available: Boolean(trivy),
    command: (dir) => {
      const cache = path.join(results, 'trivy-cache');
      rmSync(cache, { recursive: true, force: true });
      return [trivy, [...TRIVY_ARGS, '--cache-dir', cache, dir]];
    },
  });
  return list;
}

/** Says loudly which peers are missing (once), and how to get them. */
function reportMissing(list) {
  const missing = list.filter((t) => !t.available);
  if (missing.length === 0) return;
  const line = '='.repeat(72);
  console.error(
    `${line}\nNOT AVAILABLE: ${missing.map((t) => t.name).join(', ')}: left out of every table below.\n` +
      `Build kube-score and Trivy with bench/peers.sh (into ${peerBin}); kube-linter\n` +
      `cannot be fetched here (see bench/lint/README.md). Carrying on without them.\n${line}`,
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function bench(dir, documents, repeat, slowRepeat = repeat) {
  const rows = [];
  const available = tools().filter((t) => t.available);
  const samples = new Map(available.map((t) => [t.name, []]));
  // Interleave the tools so background load affects them alike.
  for (let run = 0; run < repeat; run++) {
    for (const tool of available) {
      if (tool.slow && run >= slowRepeat) continue;
      samples.get(tool.name).push(measure(...tool.command(dir)));
    }
  }
  for (const tool of tools()) {
    if (!tool.available) {
      rows.push({ tool: tool.name, available: false });
      continue;
    }
    const s = samples.get(tool.name);
    const wall = median(s.map((x) => x.wall));
    const findings = PARSERS[tool.parse](s[0].stdout, dir);
    rows.push({
      tool: tool.name,
      ...(tool.version ? { version: tool.version } : {}),
      available: true,
      runs: s.length,
      wall,
      docsPerSecond: documents / wall,
      peakRssMb: Math.max(...s.map((x) => x.rssKb)) / 1024,
      findings,
    });
  }
  return rows;
}

function detection(rows, truth) {
  const out = {};
  for (const row of rows.filter((r) => r.available)) {
    const checks = PROBLEM_CHECKS[row.tool.startsWith('labgrader') ? 'labgrader' : row.tool];
    const byFile = new Map();
    for (const f of row.findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f.check]);
    out[row.tool] = {};
    for (const [problem, mapped] of Object.entries(checks)) {
      const planted = truth.problems.filter((p) => p.problem === problem);
      const found = planted.filter((p) => (byFile.get(p.file) ?? []).some((c) => mappedTo(mapped, c))).length;
      out[row.tool][problem] = { planted: planted.length, found };
    }
  }
  return out;
}

function table(headers, lines) {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmt = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [fmt(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...lines.map(fmt)].join('\n');
}

mkdirSync(results, { recursive: true });
execFileSync(process.execPath, ['bench/lint/generate-corpus.mjs', '--docs', docs, '--out', corpus], {
  cwd: root,
  stdio: 'inherit',
});
const truth = JSON.parse(readFileSync(path.join(results, 'truth.json'), 'utf8'));
const machine = `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')}`;

reportMissing(tools());
const toolName = (r) => (r.version ? `${r.tool} ${r.version}` : r.tool);
console.log(
  `\nCorpus: ${truth.documents} documents in ${filesUnder(corpus).length} files; ${runs} interleaved runs per tool (${slowRuns} for Trivy), median wall time, one core.`,
);
const corpusRows = bench(corpus, truth.documents, runs, slowRuns);
console.log(
  table(
    ['tool', 'runs', 'wall (s)', 'documents/s', 'peak RSS (MB)', 'findings'],
    corpusRows.map((r) =>
      r.available
        ? [
            toolName(r),
            r.runs,
            r.wall.toFixed(2),
            Math.round(r.docsPerSecond),
            r.peakRssMb.toFixed(0),
            r.findings.length,
          ]
        : [r.tool, '', 'not available', '', '', ''],
    ),
  ),
);
const found = detection(corpusRows, truth);
console.log('\nPlanted course problems reported (found / planted):');
const problems = Object.keys(PROBLEM_CHECKS.labgrader);
console.log(
  table(
    ['tool', ...problems],
    Object.entries(found).map(([tool, byProblem]) => [
      tool,
      ...problems.map((p) => `${byProblem[p].found}/${byProblem[p].planted}`),
    ]),
  ),
);

// The example labs: tiny inputs, so the time is mostly process start-up.
const examples = readdirSync(path.join(root, 'examples'))
  .map((d) => path.join(root, 'examples', d))
  .filter((d) => statSync(d).isDirectory());
const exampleRows = [];
for (const dir of examples) {
  const documents = filesUnder(dir).reduce(
    (n, f) =>
      n +
      readFileSync(f, 'utf8')
        .split(/^---$/m)
        .filter((d) => /\bkind:/.test(d)).length,
    0,
  );
  if (documents === 0) continue; // nothing to lint (e.g. lab-85-no-manifests)
  for (const row of bench(dir, documents, runs)) exampleRows.push({ example: path.basename(dir), documents, ...row });
}
console.log('\nExample labs (whole process, start-up included):');
console.log(
  table(
    ['example', 'tool', 'documents', 'wall (s)', 'documents/s', 'peak RSS (MB)', 'findings'],
    exampleRows.map((r) =>
      r.available
        ? [
            r.example,
            r.tool,
            r.documents,
            r.wall.toFixed(3),
            Math.round(r.docsPerSecond),
            r.peakRssMb.toFixed(0),
            r.findings.length,
          ]
        : [r.example, r.tool, r.documents, 'not available', '', '', ''],
    ),
  ),
);
// Steady state on an example: the same lab linted 200 times in one process.
const passing = examples.find((d) => d.endsWith('lab-85-passing')) ?? examples[0];
const steady = measure(process.execPath, ['bench/lint/labgrader-lint.mjs', passing, '--repeat', '200']);
const steadyResult = JSON.parse(steady.stdout);
console.log(
  `\nlabgrader steady state on ${path.basename(passing)}: ${Math.round(steadyResult.documents / steadyResult.seconds)} documents/s (200 repetitions in one process)`,
);

writeFileSync(
  path.join(results, 'results.json'),
  `${JSON.stringify({ machine, date: new Date().toISOString(), corpus: { documents: truth.documents, rows: corpusRows.map(({ findings, ...r }) => ({ ...r, findings: findings?.length })) }, detection: found, examples: exampleRows.map(({ findings, ...r }) => ({ ...r, findings: findings?.length })), steady: { documentsPerSecond: steadyResult.documents / steadyResult.seconds } }, null, 2)}\n`,
);
console.log(`\n${machine}; results in bench/results/results.json`);
