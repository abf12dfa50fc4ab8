/**
 * The peers the benchmarks compare labgrader with (kube-linter, kube-score,
 * Trivy): where their binaries are, how each is run, how its output is read
 * into `{ check, file }` findings, and which of its checks report each of the
 * course's problems. Shared by bench/lint and bench/accuracy; bench/peers.sh
 * builds kube-score and Trivy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Where bench/peers.sh builds them; PATH is searched first. */
export const peerBin = path.join(process.env.LABGRADER_CACHE_DIR || path.join(homedir(), '.cache/labgrader'), 'bin');

export function which(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), peerBin]) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The module version a Go binary was built from (`go version -m`), when Go is there to tell. */
export function goModuleVersion(binary, module) {
  const r = spawnSync('go', ['version', '-m', binary], { encoding: 'utf8' });
  const line = (r.stdout ?? '')
    .split('\n')
    .find((l) => l.trim().split(/\s+/).slice(0, 2).join(' ') === `mod ${module}`);
  return line?.trim().split(/\s+/)[2];
}

/** kube-score takes files, not directories: these arguments, then every file. All optional tests enabled. */
export const KUBE_SCORE_ARGS = [
  'score',
  '--output-format',
  'json',
  ...['container-resource-requests-equal-limits', 'container-ports-check', 'container-seccomp-profile'].flatMap((t) => [
    '--enable-optional-test',
    t,
  ]),
];

/** kube-linter (used when one is on PATH): every built-in check. Then the directory. */
export const KUBE_LINTER_ARGS = ['lint', '--add-all-built-in', '--format', 'json'];

/**
 * Trivy fully offline, then `--cache-dir <fresh dir> <dir>`: misconfiguration
 * checks embedded in the binary (--skip-check-update), no vulnerability or
 * Java database (--skip-db-update, --skip-java-db-update, --offline-scan), no
 * version check or telemetry; the Kubernetes scanner only (the files are
 * manifests) and the secret scanner. Checked with `unshare -n` (a network
 * namespace with no network at all): same findings, same exit code.
 */
export const TRIVY_ARGS = [
  'fs',
  '--scanners',
  'misconfig,secret',
  '--misconfig-scanners',
  'kubernetes',
  '--skip-check-update',
  '--skip-db-update',
  '--skip-java-db-update',
  '--offline-scan',
  '--skip-version-check',
  '--disable-telemetry',
  '--timeout',
  '2h',
  '--format',
  'json',
  '--quiet',
];

/**
 * The course problems and, per tool, which of its checks report them: the
 * checks that test the problem's condition itself, not a neighbouring one
 * ("this Deployment has no PDB" is not "this PDB blocks every drain"). Used
 * for the found/planted tables of bench/lint and the per-class counts of
 * bench/accuracy.
 */
export const PROBLEM_CHECKS = {
  labgrader: {
    'port-triangle': ['lint/service-target-port', 'lint/probe-port', 'lint/service-selector'],
    'dns-egress': ['lint/networkpolicy-dns'],
    'drain-blocking-pdb': ['lint/pdb-drain'],
    'plaintext-secrets': ['lint/env-secret-literal', 'lint/secret-committed', 'lint/configmap-secrets'],
  },
  // Check names from kube-linter's documentation (all built-in checks enabled); not exercised here.
  'kube-linter': {
    'port-triangle': ['dangling-service', 'liveness-port', 'readiness-port', 'startup-port'],
    'dns-egress': [],
    'drain-blocking-pdb': ['pdb-max-unavailable', 'pdb-min-available'],
    'plaintext-secrets': ['env-var-secret'],
  },
  // kube-score v1.20: service-targets-pod is the selector leg of the triangle. Its PDB checks ask
  // whether a PDB exists and sets a policy, its NetworkPolicy checks whether one selects the pod;
  // none looks at drains or DNS, and it has no secret checks.
  'kube-score': {
    'port-triangle': ['service-targets-pod'],
    'dns-egress': [],
    'drain-blocking-pdb': [],
    'plaintext-secrets': [],
  },
  // Trivy v0.74's embedded Kubernetes checks (trivy-checks, checks/kubernetes) have none on
  // Service ports, NetworkPolicy egress or PodDisruptionBudgets. For secrets: its two ConfigMap
  // checks (KSV-0109 "ConfigMap with secrets", KSV-01010 "ConfigMap with sensitive content") and
  // any hit of its secret scanner (reported here as `secret/<rule>`).
  trivy: {
    'port-triangle': [],
    'dns-egress': [],
    'drain-blocking-pdb': [],
    'plaintext-secrets': ['KSV-0109', 'KSV-01010', 'secret/*'],
  },
};

/** Whether a tool's check is one of the mapped ones (`secret/*` matches every `secret/…`). */
export function mappedTo(mapped, check) {
  return mapped.some((m) => (m.endsWith('/*') ? check.startsWith(m.slice(0, -1)) : m === check));
}

/** Normalised findings `{check, file}` (file relative to the linted directory) from each tool's output. */
export const PARSERS = {
  labgrader: (stdout) => JSON.parse(stdout).findings,
  'kube-score': (stdout, dir) =>
    JSON.parse(stdout).flatMap((object) =>
      object.checks
        .filter((c) => !c.skipped && c.grade < 10)
        .map((c) => ({
          check: c.check.id,
          file: path.relative(dir, object.file_name),
          message: `${object.object_name}: ${c.comments?.[0]?.summary ?? c.check.name}`,
        })),
    ),
  'kube-linter': (stdout, dir) =>
    (JSON.parse(stdout).Reports ?? []).map((r) => ({
      check: r.Check,
      file: path.relative(dir, path.resolve(dir, r.Object.Metadata.FilePath)),
    })),
  // Results[].Target is relative to the scanned directory.
  trivy: (stdout) =>
    (JSON.parse(stdout).Results ?? []).flatMap((r) => [
      ...(r.Misconfigurations ?? []).map((m) => ({
        check: m.ID,
        file: r.Target,
        line: m.CauseMetadata?.StartLine,
        message: m.Message,
      })),
      ...(r.Secrets ?? []).map((m) => ({
        check: `secret/${m.RuleID}`,
        file: r.Target,
        line: m.StartLine,
        message: m.Title,
      })),
    ]),
};
