/**
 * What the real-cluster suites share: the offline kind build's binaries and
 * images, whether they are present (and a loud NOT RUN banner when not), a
 * temporary work directory, rubric and lab variants, and running the CLI.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import type { Report, ReportFinding } from '@labgrader/core';
import { runCli } from '../../../../test/support/cli.js';

export const ROOT = new URL('../../../../', import.meta.url).pathname;
/** A hostile Lab 85 submission: every attack on the grading cluster a student tried (see its README). */
export const HOSTILE_LAB = new URL('../fixtures/hostile-lab/', import.meta.url).pathname;
const KIND_OFFLINE = path.join(ROOT, 'test/kind-offline');
const versions = readFileSync(path.join(KIND_OFFLINE, 'versions.sh'), 'utf8');
const pinned = (name: string) => new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}`, 'm').exec(versions)?.[1] ?? '';
const CACHE = path.join(process.env.LABGRADER_CACHE_DIR ?? path.join(homedir(), '.cache/labgrader'), 'kind-offline');
export const KIND = path.join(CACHE, 'bin', `kind-${pinned('KIND_VERSION')}`, 'kind');
export const KUBECTL = path.join(CACHE, 'k8s', pinned('K8S_VERSION'), 'bin', 'kubectl');
export const NODE_IMAGE = `${pinned('NODE_IMAGE_REPO')}:${pinned('K8S_VERSION')}`;
export const APP_IMAGE = pinned('APP_IMAGE');

export function run(
  command: string,
  args: string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', input, timeout: 600_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function prerequisitesMissing(): string | undefined {
  const present = run(path.join(KIND_OFFLINE, 'node-image-present.sh'), []);
  if (present.status !== 0) return present.stdout.trim() || 'the offline kind node image is not present';
  if (run('docker', ['info']).status !== 0)
    return 'the Docker engine is not running (test/kind-offline/docker-up.sh starts it)';
  if (run('docker', ['image', 'inspect', NODE_IMAGE]).status !== 0)
    return `${NODE_IMAGE} is not loaded in the Docker daemon (test/kind-offline/ci-setup.sh loads it)`;
  if (run('docker', ['image', 'inspect', APP_IMAGE]).status !== 0) return `the app image ${APP_IMAGE} is not present`;
  return undefined;
}

const missing = prerequisitesMissing();
if (missing) {
  console.warn(
    [
      '######################################################################',
      '##  REAL-CLUSTER TESTS OF THE CLUSTER STAGE: NOT RUN (not counted)',
      `##  ${missing}`,
      '##  Set up once with test/kind-offline/build.sh, then test/kind-offline/ci-setup.sh',
      '######################################################################',
    ].join('\n'),
  );
}
export const real = missing ? describe.skip : describe;

/** The grading machine, as .ci/run leaves it: the cached kind and kubectl, the offline node image. */
export const KIND_ENV = {
  LABGRADER_KIND: KIND,
  LABGRADER_KUBECTL: KUBECTL,
  LABGRADER_KIND_NODE_IMAGE: NODE_IMAGE,
  // kind applies the offline node image's default CNI (routes between nodes, NetworkPolicy enforced).
};

/** The same machine with a node image's own static CNI: no NetworkPolicy is enforced (the egress control run). */
export const KIND_ENV_NO_POLICY_CNI = { ...KIND_ENV, LABGRADER_KIND_DISABLE_DEFAULT_CNI: '1' };

// Created when a test runs (hooks do not run when everything is skipped).
export let work = '';
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'labgrader-cluster-real-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** rubrics/lab-85.yaml with a few settings changed (each replacement must apply). */
export function rubricWith(name: string, replacements: [string, string][]): string {
  let text = readFileSync(path.join(ROOT, 'rubrics/lab-85.yaml'), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`rubrics/lab-85.yaml no longer contains ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

export function labVariant(name: string, edit: (deployment: string) => string): string {
  const dir = path.join(work, name);
  cpSync(path.join(ROOT, 'examples/lab-85-passing'), dir, { recursive: true });
  const file = path.join(dir, 'k8s/deployment.yaml');
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the ${name} edit changed nothing`);
  writeFileSync(file, after);
  return dir;
}

export async function grade(
  target: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; report: Report }> {
  const r = await runCli(['grade', target, ...args, '--format', 'json', '--no-progress'], { env });
  if (!r.stdout) throw new Error(`no report (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

export const points = (report: Report) => Object.fromEntries(report.criteria.map((c) => [c.id, c.points]));
export const clusterPoints = (report: Report) =>
  Object.fromEntries(report.criteria.filter((c) => c.stage === 'cluster').map((c) => [c.id, c.points]));
export const clusterFindings = (report: Report) =>
  report.findings
    .filter((f) => f.checkId.startsWith('cluster/'))
    .map(
      (f: ReportFinding) =>
        `${f.severity} ${f.checkId} ${f.location ? `${f.location.file}:${f.location.line}` : '-'} ${f.message}`,
    );
export const evidence = (report: Report, label: string) =>
  report.evidence.filter((e) => e.label === label).map((e) => e.detail);

/** Names of the kind clusters whose containers exist. */
export function kindClusterContainers(): string[] {
  const r = run('docker', [
    'ps',
    '-a',
    '--filter',
    'label=io.x-k8s.kind.cluster',
    '--format',
    '{{.Label "io.x-k8s.kind.cluster"}}',
  ]);
  return r.stdout.split('\n').filter(Boolean);
}

export function measured(report: Report): string {
  const stage = report.stages.find((s) => s.name === 'cluster');
  return `cluster stage ${((stage?.durationMs ?? 0) / 1000).toFixed(1)} s; recovery: ${evidence(report, 'recovery-time').join(', ')}`;
}

/**
 * A kubeconfig for a ServiceAccount of labgrader-system (a short-lived token
 * from `kubectl create token`), on the same cluster and context name as the
 * admin kubeconfig: what an operator gives the grading service.
 */
export function serviceAccountKubeconfig(
  kubectl: (...args: string[]) => { status: number; stdout: string; stderr: string },
  serviceAccount: string,
  file: string,
): string {
  const token = kubectl('-n', 'labgrader-system', 'create', 'token', serviceAccount, '--duration=2h');
  if (token.status !== 0) throw new Error(`kubectl create token ${serviceAccount}: ${token.stderr}`);
  const admin = JSON.parse(kubectl('config', 'view', '--raw', '--minify', '-o', 'json').stdout) as {
    clusters: unknown[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  const context = admin.contexts[0]!;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: admin.clusters,
    users: [{ name: serviceAccount, user: { token: token.stdout.trim() } }],
    contexts: [{ name: context.name, context: { cluster: context.context.cluster, user: serviceAccount } }],
    'current-context': context.name,
  };
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}
