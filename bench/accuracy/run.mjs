#!/usr/bin/env node
/**
 * Grades a folder of real lab repositories with labgrader, kube-score and
 * Trivy and prints, per repository, what each tool found, by rule, and how
 * many findings fall in each of the course's problem classes. Run it on your
 * own course's submissions to see what each tool would have told your
 * students; the project ships no repositories (only code it wrote).
 *
 *   node bench/accuracy/run.mjs <folder>...           every subdirectory of each folder is a repository
 *   node bench/accuracy/run.mjs --repo <dir> ...      these directories are repositories
 *       [--tools labgrader,kube-score,trivy] [--json <file>]
 *
 * labgrader runs as a student or instructor runs it: the built command
 * (`apps/cli/bin/labgrader.cjs lint <repo> --format json`, every lint rule
 * with its defaults; `npm run build` first). kube-score reads the manifest
 * files (YAML files with `apiVersion:` and `kind:`, not Helm templates);
 * Trivy scans the repository offline (its embedded Kubernetes and Helm
 * checks, and its secret scanner). A tool that is not installed is reported
 * loudly and left out (bench/peers.sh builds kube-score and Trivy).
 *
 * There is no ground truth in someone's repository: the problem-class
 * columns count findings of the checks each tool has for that class
 * (bench/peers.mjs), for a person to read against the manifests.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
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
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const wanted = (option('tools') ?? 'labgrader,kube-score,trivy').split(',');
const jsonOut = option('json') ?? path.join(root, 'bench', 'results', 'accuracy.json');
const repos = [];
while (args.length > 0) {
  const a = args.shift();
  if (a === '--repo') repos.push(path.resolve(args.shift()));
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else {
    const folder = path.resolve(a);
    for (const name of readdirSync(folder).sort()) {
      const dir = path.join(folder, name);
      if (!name.startsWith('.') && statSync(dir).isDirectory()) repos.push(dir);
    }
  }
}
if (repos.length === 0) usage('no repositories given');

function usage(problem) {
  console.error(
    `bench/accuracy: ${problem}\nusage: node bench/accuracy/run.mjs <folder>... | --repo <dir>... [--tools labgrader,kube-score,trivy] [--json <file>]`,
  );
  process.exit(2);
}

const IGNORED_DIRS = new Set(['.git', 'node_modules', 'vendor']);
function yamlFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && /\.ya?ml$/i.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

/** Files kube-score can read: Kubernetes manifests, not Helm templates, values or kustomizations. */
function manifestFiles(dir) {
  return yamlFiles(dir).filter((file) => {
    const text = readFileSync(file, 'utf8');
    return (
      /^apiVersion:/m.test(text) &&
      /^kind:/m.test(text) &&
      !text.includes('{{') &&
      !/^kind:\s*Kustomization\b/m.test(text)
    );
  });
}

function run(command, commandArgs, options = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, commandArgs, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  return { ...r, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const tools = [];
const bin = path.join(root, 'apps/cli/bin/labgrader.cjs');
if (wanted.includes('labgrader')) {
  tools.push({
    name: 'labgrader',
    available: existsSync(path.join(root, 'apps/cli/dist/labgrader.cjs')),
    missing: 'run `npm run build`',
    grade(repo) {
      const r = run(process.execPath, [bin, 'lint', repo, '--format', 'json', '--no-progress', '--fail-on', 'none']);
      if (r.status !== 0)
        return { error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, seconds: r.seconds };
      const report = JSON.parse(r.stdout);
      return {
        seconds: r.seconds,
        findings: report.findings.map((f) => ({
          check: f.checkId,
          file: f.location?.file ?? '',
          line: f.location?.line,
          severity: f.severity,
          message: f.message,
        })),
      };
    },
  });
}
const kubeScore = which('kube-score');
if (wanted.includes('kube-score')) {
  tools.push({
    name: 'kube-score',
    version: kubeScore && goModuleVersion(kubeScore, 'github.com/zegl/kube-score'),
    available: Boolean(kubeScore),
    missing: `build it with bench/peers.sh (into ${peerBin})`,
    grade(repo) {
      const files = manifestFiles(repo);
      if (files.length === 0) return { findings: [], seconds: 0, note: 'no manifest files' };
      // kube-score exits 1 when it grades something critical; it cannot read a file → >1 or no JSON.
      const attempt = (list) => {
        const r = run(kubeScore, [...KUBE_SCORE_ARGS, ...list]);
        try {
          return { findings: PARSERS['kube-score'](r.stdout, repo), seconds: r.seconds };
        } catch {
          return undefined;
        }
      };
      const all = attempt(files);
      if (all) return all;
      // One unreadable file fails the whole run: grade the files one by one and say which were skipped.
      const findings = [];
      const skipped = [];
      let seconds = 0;
      for (const file of files) {
        const one = attempt([file]);
        if (one) {
          findings.push(...one.findings);
          seconds += one.seconds;
        } else skipped.push(path.relative(repo, file));
      }
      return {
        findings,
        seconds,
        note: `kube-score could not read ${skipped.length} file(s): ${skipped.slice(0, 3).join(', ')}`,
      };
    },
  });
}
const trivy = which('trivy');
if (wanted.includes('trivy')) {
  tools.push({
    name: 'trivy',
    version: trivy && goModuleVersion(trivy, 'github.com/aquasecurity/trivy'),
    available: Boolean(trivy),
    missing: `build it with bench/peers.sh (into ${peerBin})`,
    grade(repo) {
      const cache = mkdtempSync(path.join(os.tmpdir(), 'labgrader-trivy-'));
      try {
        const trivyArgs = TRIVY_ARGS.map((a) => (a === 'kubernetes' ? 'kubernetes,helm' : a));
        const r = run(trivy, [...trivyArgs, '--cache-dir', cache, repo]);
        if (r.status !== 0)
          return { error: `exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`, seconds: r.seconds };
        return { findings: PARSERS.trivy(r.stdout, repo), seconds: r.seconds };
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    },
  });
}
const missing = tools.filter((t) => !t.available);
if (missing.length > 0) {
  console.error(
    `${'='.repeat(72)}\nNOT AVAILABLE: ${missing.map((t) => `${t.name} (${t.missing})`).join('; ')}.\nLeft out of every table below. Carrying on.\n${'='.repeat(72)}`,
  );
}
const active = tools.filter((t) => t.available);
const toolName = (t) => (t.version ? `${t.name} ${t.version}` : t.name);
const problems = Object.keys(PROBLEM_CHECKS.labgrader);
const PROBLEM_TITLES = {
  'port-triangle': 'port triangle',
  'dns-egress': 'DNS egress',
  'drain-blocking-pdb': 'drain-blocking PDB',
  'plaintext-secrets': 'plaintext secrets',
};

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [fmt(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(fmt)].join('\n');
}

const countBy = (items, key) => {
  const m = new Map();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
};

const results = [];
for (const repo of repos) {
  const name = path.basename(repo);
  const manifests = manifestFiles(repo).length;
  console.log(`\n== ${name}  (${yamlFiles(repo).length} YAML files, ${manifests} of them plain manifests)`);
  const perTool = {};
  for (const tool of active) {
    const outcome = tool.grade(repo);
    perTool[tool.name] = outcome;
    if (outcome.error) {
      console.log(`\n${toolName(tool)}: could not grade it (${outcome.error})`);
      continue;
    }
    const rules = countBy(outcome.findings, (f) => f.check);
    const files = new Set(outcome.findings.map((f) => f.file)).size;
    console.log(
      `\n${toolName(tool)}: ${outcome.findings.length} findings in ${files} files, ${rules.length} rules, ${outcome.seconds.toFixed(2)} s${outcome.note ? ` (${outcome.note})` : ''}`,
    );
    if (rules.length > 0) console.log(table(['rule', 'findings'], rules));
  }
  const classRows = active
    .filter((t) => !perTool[t.name].error)
    .map((t) => [
      toolName(t),
      ...problems.map(
        (p) => perTool[t.name].findings.filter((f) => mappedTo(PROBLEM_CHECKS[t.name][p], f.check)).length,
      ),
    ]);
  if (classRows.length > 0) {
    console.log(`\nfindings per course problem class (${name}):`);
    console.log(table(['tool', ...problems.map((p) => PROBLEM_TITLES[p])], classRows));
    // Each of them, to read against the manifests.
    for (const t of active.filter((t) => !perTool[t.name].error)) {
      for (const p of problems) {
        for (const f of perTool[t.name].findings.filter((f) => mappedTo(PROBLEM_CHECKS[t.name][p], f.check))) {
          const where = f.line ? `${f.file}:${f.line}` : f.file;
          const message = (f.message ?? '').split('\n')[0].slice(0, 140);
          console.log(`  ${PROBLEM_TITLES[p]}: ${t.name} ${where} ${f.check}: ${message}`);
        }
      }
    }
  }
  results.push({ repository: name, path: repo, manifests, tools: perTool });
}

console.log(
  '\nSummary (findings; findings per course problem class: port triangle / DNS egress / drain-blocking PDB / plaintext secrets):',
);
console.log(
  table(
    ['repository', ...active.map(toolName)],
    results.map((r) => [
      r.repository,
      ...active.map((t) => {
        const o = r.tools[t.name];
        if (o.error) return 'error';
        const classes = problems.map(
          (p) => o.findings.filter((f) => mappedTo(PROBLEM_CHECKS[t.name][p], f.check)).length,
        );
        return `${o.findings.length} (${classes.join(' / ')})`;
      }),
    ]),
  ),
);
mkdirSync(path.dirname(jsonOut), { recursive: true });
writeFileSync(
  jsonOut,
  `${JSON.stringify({ date: new Date().toISOString(), tools: active.map((t) => ({ name: t.name, version: t.version })), results }, null, 2)}\n`,
);
console.log(`\nevery finding in ${path.relative(process.cwd(), jsonOut) || jsonOut}`);
