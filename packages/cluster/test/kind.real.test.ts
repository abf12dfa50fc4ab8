/**
 * The cluster stage against real kind clusters (the offline node image of
 * test/kind-offline/), through the CLI, end to end:
 *
 *  - kind target: the passing example gets full marks with measured
 *    recoveries, and its cluster is gone afterwards; a job that runs out of
 *    time still deletes its cluster before the report comes back;
 *  - existing target: one kind cluster created here and shared by three
 *    concurrent jobs (the passing example, a lab whose readiness probe never
 *    passes, a single-replica lab), each in namespaces of its own, graded
 *    exactly, and nothing left behind; a namespace named like the lab's is
 *    never touched.
 *
 * Runs only where the offline node image and a Docker engine are present
 * (.ci/run prepares them); otherwise it says so loudly and is skipped.
 * Nothing here is timed: durations are printed, never asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import type { Report, ReportFinding } from '@labgrader/core';
import { runCli } from '../../../test/support/cli.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const KIND_OFFLINE = path.join(ROOT, 'test/kind-offline');
const versions = readFileSync(path.join(KIND_OFFLINE, 'versions.sh'), 'utf8');
const pinned = (name: string) => new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}`, 'm').exec(versions)?.[1] ?? '';
const CACHE = path.join(process.env.LABGRADER_CACHE_DIR ?? path.join(homedir(), '.cache/labgrader'), 'kind-offline');
const KIND = path.join(CACHE, 'bin', `kind-${pinned('KIND_VERSION')}`, 'kind');
const KUBECTL = path.join(CACHE, 'k8s', pinned('K8S_VERSION'), 'bin', 'kubectl');
const NODE_IMAGE = `${pinned('NODE_IMAGE_REPO')}:${pinned('K8S_VERSION')}`;
const APP_IMAGE = pinned('APP_IMAGE');

function run(command: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
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
const real = missing ? describe.skip : describe;

/** The grading machine, as .ci/run leaves it: the cached kind and kubectl, the offline node image. */
const KIND_ENV = {
  LABGRADER_KIND: KIND,
  LABGRADER_KUBECTL: KUBECTL,
  LABGRADER_KIND_NODE_IMAGE: NODE_IMAGE,
  // The offline node image brings its own CNI configuration (see test/kind-offline/README.md).
  LABGRADER_KIND_DISABLE_DEFAULT_CNI: '1',
};

// Created when a test runs (hooks do not run when everything is skipped).
let work = '';
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'labgrader-cluster-real-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** rubrics/lab-85.yaml with a few settings changed (each replacement must apply). */
function rubricWith(name: string, replacements: [string, string][]): string {
  let text = readFileSync(path.join(ROOT, 'rubrics/lab-85.yaml'), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`rubrics/lab-85.yaml no longer contains ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

function labVariant(name: string, edit: (deployment: string) => string): string {
  const dir = path.join(work, name);
  cpSync(path.join(ROOT, 'examples/lab-85-passing'), dir, { recursive: true });
  const file = path.join(dir, 'k8s/deployment.yaml');
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the ${name} edit changed nothing`);
  writeFileSync(file, after);
  return dir;
}

async function grade(
  target: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; report: Report }> {
  const r = await runCli(['grade', target, ...args, '--format', 'json', '--no-progress'], { env });
  if (!r.stdout) throw new Error(`no report (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

const points = (report: Report) => Object.fromEntries(report.criteria.map((c) => [c.id, c.points]));
const clusterPoints = (report: Report) =>
  Object.fromEntries(report.criteria.filter((c) => c.stage === 'cluster').map((c) => [c.id, c.points]));
const clusterFindings = (report: Report) =>
  report.findings
    .filter((f) => f.checkId.startsWith('cluster/'))
    .map(
      (f: ReportFinding) =>
        `${f.severity} ${f.checkId} ${f.location ? `${f.location.file}:${f.location.line}` : '-'} ${f.message}`,
    );
const evidence = (report: Report, label: string) =>
  report.evidence.filter((e) => e.label === label).map((e) => e.detail);

/** Names of the kind clusters whose containers exist. */
function kindClusterContainers(): string[] {
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

function measured(report: Report): string {
  const stage = report.stages.find((s) => s.name === 'cluster');
  return `cluster stage ${((stage?.durationMs ?? 0) / 1000).toFixed(1)} s; recovery: ${evidence(report, 'recovery-time').join(', ')}`;
}

real('cluster stage on a kind cluster of its own (--cluster kind)', () => {
  it('grades the passing example with full marks, measures every recovery, and deletes its cluster', async () => {
    const rubric = rubricWith('kind-pass', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-pass }'],
    ]);
    const { code, report } = await grade(
      'examples/lab-85-passing',
      ['--cluster', 'kind', '--rubric', rubric],
      KIND_ENV,
    );
    console.log(`passing example, kind: ${measured(report)}`);
    expect(code).toBe(0);
    expect(report.status).toBe('graded');
    expect(report.findings).toEqual([]);
    expect(points(report)).toEqual({
      'architecture-notes': 10,
      'architecture-diagram': 10,
      'secret-configuration': 15,
      'resources-and-probes': 15,
      'failure-analysis': 15,
      deployable: 5,
      availability: 5,
      'notes-match-manifests': 5,
      'runs-in-cluster': 5,
      'survives-failure': 15,
    });
    expect(report.score).toEqual({ points: 100, maxPoints: 100, percent: 100, rubricMaxPoints: 100 });

    // Measured, not assumed: each drill recorded its recovery time, its commands and the Service's answers.
    const recoveries = evidence(report, 'recovery-time');
    expect(recoveries.map((r) => r.replace(/^[\d.]+ s /, ''))).toEqual([
      '(pod-kill)',
      '(container-kill)',
      '(bad-rollout)',
    ]);
    for (const r of recoveries) expect(Number(r.split(' ')[0])).toBeGreaterThan(0);
    expect(evidence(report, 'pod-kill')[0]).toMatch(
      /^deleted pod web-[a-z0-9]+-[a-z0-9]+; 3\/3 pods Ready again after [\d.]+ s/,
    );
    expect(evidence(report, 'container-kill')[0]).toMatch(
      /^killed container web of pod web-\S+ \(SIGKILL\); restarted and Ready again/,
    );
    expect(evidence(report, 'bad-rollout')[0]).toMatch(
      /^set image web=127\.0\.0\.1:9\/labgrader\/bad-rollout:does-not-exist on deployment\/web; watched [\d.]+ s: at least 2\/3 pods stayed Ready, the new pods failed with (ErrImagePull|ImagePullBackOff); kubectl rollout undo: rolled back/,
    );
    expect(evidence(report, 'commands').join('\n')).toContain('docker exec lgt-pass-');
    expect(evidence(report, 'synthesized-secret')).toEqual([
      'created Secret lab85/web-secrets with random values for key api-token: the manifests use it but it is created out of band',
    ]);
    expect(evidence(report, 'images')).toEqual([`loaded from the local Docker daemon: ${APP_IMAGE}`]);

    // The cluster is gone: kind does not know it, and no container of it is left.
    const cleanup = evidence(report, 'cleanup')[0] ?? '';
    const name = /^deleted kind cluster (lgt-pass-[0-9a-f]{6}) in [\d.]+ s$/.exec(cleanup)?.[1];
    expect(name).toBeDefined();
    expect(run(KIND, ['get', 'clusters']).stdout.split('\n')).not.toContain(name);
    expect(kindClusterContainers()).not.toContain(name);
  }, 600_000);

  it('deletes its cluster before reporting, when the stage runs out of time', async () => {
    const rubric = rubricWith('kind-abort', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-abort }'],
      ['    timeoutSeconds: 600', '    timeoutSeconds: 15'],
    ]);
    const { code, report } = await grade(
      'examples/lab-85-passing',
      ['--cluster', 'kind', '--rubric', rubric],
      KIND_ENV,
    );
    expect(code).toBe(3);
    expect(report.notGradable).toMatchObject({
      reason: 'timed-out',
      message: 'the cluster stage exceeded its 15 s time budget',
    });
    expect(report.stages.find((s) => s.name === 'cluster')?.status).toBe('timed-out');
    // By the time the report is back, nothing of the job's cluster is left.
    expect(kindClusterContainers().filter((c) => c.startsWith('lgt-abort-'))).toEqual([]);
    expect(
      run(KIND, ['get', 'clusters'])
        .stdout.split('\n')
        .filter((c) => c.startsWith('lgt-abort-')),
    ).toEqual([]);
  }, 600_000);
});

real('cluster stage in an existing cluster (--kube-context), three jobs sharing it', () => {
  const cluster = `lgt-shared-${process.pid}`;
  let kubeconfig = '';
  const kubectl = (...args: string[]) => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args]);
  let namespacesBefore: string[] = [];

  beforeAll(() => {
    kubeconfig = path.join(work, 'shared-kubeconfig');
    const config =
      'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  disableDefaultCNI: true\nnodes:\n  - role: control-plane\n';
    const created = run(
      KIND,
      [
        'create',
        'cluster',
        '--name',
        cluster,
        '--image',
        NODE_IMAGE,
        '--config',
        '-',
        '--kubeconfig',
        kubeconfig,
        '--wait',
        '180s',
      ],
      config,
    );
    if (created.status !== 0) throw new Error(`kind create cluster failed: ${created.stderr}`);
    for (const what of ['daemonset/kube-proxy', 'deployment/coredns']) {
      const r = kubectl('-n', 'kube-system', 'rollout', 'status', what, '--timeout=180s');
      if (r.status !== 0) throw new Error(`${what}: ${r.stderr}`);
    }
    // An existing cluster has the lab's image in a registry; here it is loaded once, by the test.
    const loaded = run(KIND, ['load', 'docker-image', APP_IMAGE, '--name', cluster]);
    if (loaded.status !== 0) throw new Error(`kind load: ${loaded.stderr}`);
    // Someone else's namespace named like the lab's: the jobs must never touch it.
    kubectl('create', 'namespace', 'lab85');
    kubectl('-n', 'lab85', 'create', 'configmap', 'not-yours', '--from-literal=owner=someone-else');
    namespacesBefore = kubectl('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort();
  }, 600_000);

  afterAll(() => {
    run(KIND, ['delete', 'cluster', '--name', cluster, '--kubeconfig', kubeconfig]);
    expect(kindClusterContainers()).not.toContain(cluster);
  }, 300_000);

  it('grades each job in namespaces of its own, exactly, and leaves the cluster as it found it', async () => {
    const rubric = rubricWith('shared', [['readyTimeoutSeconds: 180', 'readyTimeoutSeconds: 30']]);
    const neverReady = labVariant('never-ready', (d) => d.replace('path: /readyz', 'path: /never-ready'));
    const single = labVariant('single-replica', (d) => d.replace('replicas: 3', 'replicas: 1'));
    const env = { KUBECONFIG: kubeconfig, LABGRADER_KUBECTL: KUBECTL };
    const args = ['--kube-context', `kind-${cluster}`, '--rubric', rubric];
    const [passing, never, one] = await Promise.all([
      grade('examples/lab-85-passing', args, env),
      grade(neverReady, args, env),
      grade(single, args, env),
    ]);
    console.log(`existing cluster: passing ${measured(passing.report)}`);
    console.log(`existing cluster: single replica ${measured(one.report)}`);
    console.log(`existing cluster: never ready ${measured(never.report)}`);

    // Each job had namespaces of its own, and deleted them.
    const own = [passing, never, one].map(({ report }) => {
      const cleanup = evidence(report, 'cleanup')[0] ?? '';
      const m = /^deleted namespaces (lg-[0-9a-f]{6}-lab85) in [\d.]+ s$/.exec(cleanup);
      expect(m).not.toBeNull();
      return m![1];
    });
    expect(new Set(own).size).toBe(3);
    expect(kubectl('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort()).toEqual(
      namespacesBefore,
    );
    expect(kubectl('get', 'namespaces', '-l', 'app.kubernetes.io/managed-by=labgrader', '-o', 'name').stdout).toBe('');
    expect(kubectl('-n', 'lab85', 'get', 'configmap', 'not-yours', '-o', 'jsonpath={.data.owner}').stdout).toBe(
      'someone-else',
    );
    expect(kubectl('-n', 'lab85', 'get', 'all,secrets', '-o', 'name').stdout).not.toMatch(/web/);

    // The passing example: full marks; the container kill needs node access, which this target does not give.
    expect(passing.code).toBe(0);
    expect(clusterPoints(passing.report)).toEqual({ 'runs-in-cluster': 5, 'survives-failure': 15 });
    expect(clusterFindings(passing.report)).toEqual([
      'info cluster/container-kill-recovery - The container-kill drill cannot run here: this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed; cluster/container-kill-recovery was not graded.',
    ]);
    expect(evidence(passing.report, 'baseline')[0]).toMatch(
      /via API server proxy to Service lg-[0-9a-f]{6}-lab85\/web:80\/\)$/,
    );

    // A readiness probe that never passes: the finding is on its line, the drills could not run, 0 of 20.
    expect(never.code).toBe(0);
    expect(clusterPoints(never.report)).toEqual({ 'runs-in-cluster': 0, 'survives-failure': 0 });
    expect(never.report.score).toMatchObject({ points: 80, maxPoints: 100 });
    const neverFindings = clusterFindings(never.report);
    expect(neverFindings.filter((f) => f.includes('cluster/deploys-ready'))).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:78 Deployment lab85\/web did not become Ready within 30 s \(0\/3 pods Ready\): The readiness probe of container "web" of Deployment lab85\/web fails: HTTP probe failed with statuscode: 404( \(\d+ times\))?\.$/,
      ),
    ]);
    expect(neverFindings.filter((f) => !f.includes('cluster/deploys-ready'))).toEqual([
      // Findings without a location come first.
      'info cluster/container-kill-recovery - The container-kill drill cannot run here: this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed; cluster/container-kill-recovery was not graded.',
      'error cluster/pod-kill-recovery k8s/deployment.yaml:1 The pod-kill drill could not run: Deployment lab85/web never became Ready.',
      'error cluster/rollout-undo k8s/deployment.yaml:1 The bad-rollout drill could not run: Deployment lab85/web never became Ready.',
      'error cluster/service-availability k8s/deployment.yaml:1 Whether Service lab85/web answers at all could not be checked: Deployment lab85/web never became Ready.',
      'error cluster/service-availability k8s/deployment.yaml:1 Whether Service lab85/web keeps answering during the pod-kill, bad-rollout drills could not be checked: Deployment lab85/web never became Ready.',
    ]);

    // One replica: the pod is replaced quickly, but the bad rollout takes the only pod down.
    expect(one.code).toBe(0);
    const survives = one.report.criteria.find((c) => c.id === 'survives-failure')!;
    const check = (id: string, n = 0) => survives.checks.filter((c) => c.id === id)[n]!;
    expect(check('cluster/pod-kill-recovery')).toMatchObject({ examined: 1, passed: 1, score: 1 });
    expect(check('cluster/container-kill-recovery')).toMatchObject({ examined: 0 });
    expect(check('cluster/rollout-undo')).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(check('cluster/rollout-undo').summary).toMatch(
      /^0\/1 pods stayed Ready during the bad rollout \(at least 1 expected\); undo recovered/,
    );
    const oneFindings = clusterFindings(one.report);
    expect(oneFindings).toContainEqual(
      'error cluster/rollout-undo k8s/deployment.yaml:9 While a release with an image that cannot be pulled (127.0.0.1:9/labgrader/bad-rollout:does-not-exist) rolled out, only 0 of 1 pods of Deployment lab85/web stayed Ready (at least 1 expected): the rolling update took old pods down before new ones were Ready.',
    );
    expect(oneFindings).toContainEqual(
      expect.stringMatching(
        /^error cluster\/service-availability k8s\/deployment\.yaml:9 During the bad-rollout drill Service lab85\/web answered only \d+ of \d+ requests/,
      ),
    );
    // Whether the Service kept answering through the pod kill depends on how fast the replacement got Ready:
    // the grade must follow the measurement, whichever it was.
    const duringPodKill = one.report.evidence.find((e) => e.label === 'during-pod-kill')!.detail;
    const [ok, total] = /^(\d+)\/(\d+) requests answered/.exec(duringPodKill)!.slice(1).map(Number) as [number, number];
    const availability = check('cluster/service-availability');
    expect(availability).toMatchObject({ examined: 2, passed: ok / total >= 0.95 ? 1 : 0 });
    // 15 × (pod kill 1 + rollout undo 0.5 + 2 × availability) / 4
    expect(clusterPoints(one.report)['survives-failure']).toBe(
      Math.round(15 * ((1 + 0.5 + 2 * (availability.passed / 2)) / 4) * 100) / 100,
    );
  }, 900_000);
});
