/**
 * A course that has outgrown one machine (docs/shared-cluster.md): two real
 * `labgrader-worker` processes on one Redis and one PostgreSQL, both grading
 * into one shared Kubernetes cluster as the least-privileged grader, by
 * environment alone (CLUSTER_STAGE=existing, CLUSTER_KUBE_CONTEXT,
 * KUBECONFIG; the bundled lab-85 rubric, unchanged).
 *
 * The shared cluster is a kind cluster made here (the offline node image of
 * test/kind-offline/), set up as an operator would: deploy/grading-cluster/
 * applied as cluster admin, the lab's image in the nodes (a registry's job in
 * a real course), a kubeconfig with a `kubectl create token` token of the
 * labgrader-grader ServiceAccount. Four submissions from bare git
 * repositories on disk: the passing example twice, a single-replica lab and a
 * lab that binds itself cluster-admin. Asserted: both workers took jobs, each
 * job graded exactly in namespaces of its own, run as the ServiceAccount, the
 * cluster-wide object refused, nothing of any job left in the cluster, the
 * token in no log and no report. The cluster is deleted in every outcome.
 *
 * Runs only where the offline node image and a Docker engine are present;
 * otherwise it says so loudly (NOT RUN) and is skipped. Durations are printed,
 * never asserted.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Report } from '@labgrader/core';
import {
  APP_IMAGE,
  KIND,
  KUBECTL,
  NODE_IMAGE,
  clusterFindings,
  clusterPoints,
  evidence,
  kindClusterContainers,
  points,
  real,
  run,
  serviceAccountKubeconfig,
  work,
} from '../../../packages/cluster/test/helpers/real-cluster.js';
import { ROOT } from './support/world.js';
import { createProcessWorld, type ProcessWorld } from './support/process-world.js';
import type { WorkerProcess } from './support/worker-process.js';

const GRADER = 'system:serviceaccount:labgrader-system:labgrader-grader';
/** The cluster-admin binding the "take over" lab commits (k8s/take-over.yaml, line 1). */
const TAKE_OVER = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: lab85-take-over
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: default
    namespace: lab85
`;

/** A worker process's resident memory now, in MiB (Linux /proc; 0 elsewhere). */
function rssMiB(w: WorkerProcess): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${w.child.pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** CPU time of a worker process and of the children it has reaped (git, kubectl, the linters), in seconds. */
function cpuSeconds(w: WorkerProcess): number {
  try {
    const fields = readFileSync(`/proc/${w.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after "pid (comm) ", in clock ticks (100/s).
    return fields.slice(11, 15).reduce((sum, t) => sum + Number(t), 0) / 100;
  } catch {
    return 0;
  }
}

real('workers on several machines grading into one shared cluster (CLUSTER_STAGE=existing)', () => {
  const cluster = `lgt-fleet-${process.pid}`;
  const context = `kind-${cluster}`;
  let adminKubeconfig = '';
  let graderKubeconfig = '';
  let world: ProcessWorld | undefined;
  const admin = (...args: string[]) => run(KUBECTL, ['--kubeconfig', adminKubeconfig, ...args]);
  const asGrader = (...args: string[]) => run(KUBECTL, ['--kubeconfig', graderKubeconfig, ...args]);
  let namespacesBefore: string[] = [];

  beforeAll(async () => {
    adminKubeconfig = path.join(work, 'admin-kubeconfig');
    const t0 = Date.now();
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
        adminKubeconfig,
        '--wait',
        '180s',
      ],
      'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n',
    );
    if (created.status !== 0) throw new Error(`kind create cluster failed: ${created.stderr}`);
    for (const what of ['daemonset/kube-proxy', 'deployment/coredns']) {
      const r = admin('-n', 'kube-system', 'rollout', 'status', what, '--timeout=180s');
      if (r.status !== 0) throw new Error(`${what}: ${r.stderr}`);
    }
    const loaded = run(KIND, ['load', 'docker-image', APP_IMAGE, '--name', cluster]);
    if (loaded.status !== 0) throw new Error(`kind load: ${loaded.stderr}`);
    // The operator's one-time setup, as docs/shared-cluster.md says: the bundle, then the grader's credentials.
    const bundle = admin('apply', '-k', path.join(ROOT, 'deploy/grading-cluster'));
    if (bundle.status !== 0) throw new Error(`kubectl apply -k deploy/grading-cluster: ${bundle.stderr}`);
    graderKubeconfig = serviceAccountKubeconfig(admin, 'labgrader-grader', path.join(work, 'grader-kubeconfig'));
    namespacesBefore = admin('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort();
    console.log(`shared cluster ${cluster} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    world = await createProcessWorld('fleet');
  }, 600_000);

  afterAll(async () => {
    try {
      await world?.cleanup();
    } finally {
      run(KIND, ['delete', 'cluster', '--name', cluster, '--kubeconfig', adminKubeconfig]);
      expect(kindClusterContainers()).not.toContain(cluster);
    }
  }, 300_000);

  const startWorker = (name: string): WorkerProcess =>
    world!.startWorker(name, {
      // The shared cluster, by environment alone: the bundled rubric names a kind target; this overrides it.
      CLUSTER_STAGE: 'existing',
      CLUSTER_KUBE_CONTEXT: context,
      KUBECONFIG: graderKubeconfig,
      LABGRADER_KUBECTL: KUBECTL,
    });

  it('two workers share the queue and the cluster: each job graded exactly in namespaces of its own, as the grader, nothing left', async () => {
    // The grader's credentials are what deploy/grading-cluster grants, and no more.
    expect(asGrader('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}').stdout).toBe(GRADER);
    expect(asGrader('auth', 'can-i', '*', '*', '--all-namespaces').stdout.trim()).toBe('no');
    expect(asGrader('auth', 'can-i', 'create', 'clusterrolebindings').stdout.trim()).toBe('no');
    expect(asGrader('auth', 'can-i', 'get', 'secrets', '-n', 'kube-system').stdout.trim()).toBe('no');
    expect(asGrader('-n', 'kube-system', 'get', 'secrets').stderr).toMatch(/forbidden/);

    const a = startWorker('a');
    const b = startWorker('b');
    await Promise.all([a.waitFor('health and metrics', 120_000), b.waitFor('health and metrics', 120_000)]);
    // Neither worker caps or sweeps kind clusters: there are none of its own.
    for (const w of [a, b]) {
      expect(w.lines.find((l) => l.msg === 'starting')).toMatchObject({ cluster: 'existing' });
      expect(w.lines.map((l) => l.msg)).not.toContain('kind clusters capped on this host');
    }

    const subs = {
      passing1: world!.submission('passing-1'),
      passing2: world!.submission('passing-2'),
      single: world!.submission('single-replica', {
        edit: (dir) => {
          const file = path.join(dir, 'k8s/deployment.yaml');
          const text = readFileSync(file, 'utf8');
          if (!text.includes('replicas: 3')) throw new Error('the example no longer has replicas: 3');
          writeFileSync(file, text.replace('replicas: 3', 'replicas: 1'));
        },
      }),
      takeOver: world!.submission('take-over', {
        edit: (dir) => writeFileSync(path.join(dir, 'k8s/take-over.yaml'), TAKE_OVER),
      }),
    };
    const t0 = Date.now();
    const jobs = Object.fromEntries(
      await Promise.all(
        Object.entries(subs).map(async ([key, sub]) => [key, { ...sub, jobId: await world!.enqueue(sub) }] as const),
      ),
    );

    // Every job finishes (completed, or failed: the assertion below then says which and why).
    const peakRss = new Map<WorkerProcess, number>();
    const settled = await world!.settle(
      Object.values(jobs).map((j) => j.jobId),
      {
        timeoutMs: 1_200_000,
        everyMs: 2_000,
        onPoll: () => {
          for (const w of [a, b]) peakRss.set(w, Math.max(peakRss.get(w) ?? 0, rssMiB(w)));
        },
      },
    );
    const states = Object.fromEntries(Object.keys(jobs).map((key, i) => [key, settled[i]]));
    const wall = (Date.now() - t0) / 1000;
    expect(states).toEqual({
      passing1: 'completed',
      passing2: 'completed',
      single: 'completed',
      takeOver: 'completed',
    });

    // Both workers took jobs, and each job was graded once. A worker's log lines are batched for up to 250 ms
    // (packages/queue/src/logging.ts), so a job can be completed in Redis before its 'graded' line arrives.
    const gradedLine = (jobId: string) => (l: Record<string, unknown>) =>
      l.msg === 'graded' && String(l.jobId) === jobId;
    await Promise.all(
      Object.values(jobs).map(({ jobId }) =>
        Promise.any([a.waitFor(gradedLine(jobId), 10_000), b.waitFor(gradedLine(jobId), 10_000)]).catch(
          () => undefined,
        ),
      ),
    );
    const gradedBy = (w: WorkerProcess) => w.lines.filter((l) => l.msg === 'graded').map((l) => String(l.jobId));
    const byA = gradedBy(a);
    const byB = gradedBy(b);
    console.log(
      `4 jobs, 2 workers: ${wall.toFixed(1)} s wall; worker a graded ${byA.length} (peak RSS ${peakRss.get(a)} MiB, ` +
        `CPU ${cpuSeconds(a).toFixed(1)} s with its children), worker b ${byB.length} (peak RSS ${peakRss.get(b)} MiB, ` +
        `CPU ${cpuSeconds(b).toFixed(1)} s)`,
    );
    expect(byA.length).toBeGreaterThanOrEqual(1);
    expect(byB.length).toBeGreaterThanOrEqual(1);
    expect([...byA, ...byB].sort()).toEqual(
      Object.values(jobs)
        .map((j) => j.jobId)
        .sort(),
    );

    const reports: Record<string, Report> = {};
    for (const [key, { repo, sha }] of Object.entries(jobs)) {
      const stored = await world!.store.get({ repository: repo.fullName!, commit: sha, rubricId: 'lab-85' });
      expect(stored?.status).toBe('graded');
      reports[key] = stored!.report;
      const stage = reports[key].stages.find((s) => s.name === 'cluster');
      console.log(
        `${key}: ${reports[key].score.points}/${reports[key].score.maxPoints}, cluster stage ${((stage?.durationMs ?? 0) / 1000).toFixed(1)} s`,
      );
    }

    // Each job ran in the shared cluster, in namespaces named after it, as the ServiceAccount, and deleted them.
    const namespaces = Object.values(reports).map((report) => {
      const target = evidence(report, 'target')[0] ?? '';
      const m = new RegExp(
        `^namespaces lg-([0-9a-f]{6})-\\* in the existing cluster \\(context ${context}\\) as ${GRADER}$`,
      ).exec(target);
      expect({ target, matches: m !== null }).toEqual({ target, matches: true });
      const cleanup = evidence(report, 'cleanup')[0] ?? '';
      expect(cleanup).toMatch(new RegExp(`^deleted namespaces lg-${m![1]}-lab85 in [\\d.]+ s$`));
      return `lg-${m![1]}-lab85`;
    });
    expect(new Set(namespaces).size).toBe(4);

    // The passing example, twice: full marks (the container kill needs node access this target does not give).
    for (const key of ['passing1', 'passing2']) {
      const report = reports[key]!;
      expect(report.score).toMatchObject({ points: 100, maxPoints: 100 });
      expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 5, 'survives-failure': 15 });
      expect(clusterFindings(report)).toEqual([
        'info cluster/container-kill-recovery - The container-kill drill cannot run here: this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed; cluster/container-kill-recovery was not graded.',
      ]);
    }

    // One replica: the bad rollout takes the only pod down; the pod kill's grade follows what was measured.
    const one = reports.single!;
    const survives = one.criteria.find((c) => c.id === 'survives-failure')!;
    const check = (id: string) => survives.checks.find((c) => c.id === id)!;
    expect(check('cluster/pod-kill-recovery')).toMatchObject({ examined: 1, passed: 1, score: 1 });
    expect(check('cluster/rollout-undo')).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    const duringPodKill = evidence(one, 'during-pod-kill')[0]!;
    const [ok, total] = /^(\d+)\/(\d+) requests answered/.exec(duringPodKill)!.slice(1).map(Number) as [number, number];
    const availability = check('cluster/service-availability');
    expect(availability).toMatchObject({ examined: 2, passed: ok / total >= 0.95 ? 1 : 0 });
    const survivesPoints = Math.round(15 * ((1 + 0.5 + 2 * (availability.passed / 2)) / 4) * 100) / 100;
    expect(clusterPoints(one)).toEqual({ 'runs-in-cluster': 5, 'survives-failure': survivesPoints });
    expect(points(one)).toMatchObject({ 'runs-in-cluster': 5, 'survives-failure': survivesPoints });

    // The lab that binds itself cluster-admin: refused at its line, the rest graded; nothing cluster-wide exists.
    const takeOver = reports.takeOver!;
    expect(clusterFindings(takeOver).filter((f) => f.includes(' was not applied: '))).toEqual([
      'error cluster/deploys-ready k8s/take-over.yaml:8 ClusterRoleBinding lab85-take-over was not applied: it binds the ClusterRole "cluster-admin", one of the cluster’s own roles, which would give the lab’s pods control beyond the lab; a lab may bind its own Roles or the ClusterRole view',
    ]);
    // It costs the object that was not applied (1 of the 2 deploys-ready examined), nothing else: the web
    // service deployed and survived the drills. runs-in-cluster = 5 × (2 × 0.5 + 1) / 3.
    const deploys = takeOver.criteria
      .find((c) => c.id === 'runs-in-cluster')!
      .checks.find((c) => c.id === 'cluster/deploys-ready');
    expect(deploys).toMatchObject({ examined: 2, passed: 1 });
    expect(clusterPoints(takeOver)).toEqual({ 'runs-in-cluster': 3.33, 'survives-failure': 15 });
    expect(takeOver.score).toMatchObject({ points: 98.33, maxPoints: 100 });
    expect(evidence(takeOver, 'ready')).toEqual([expect.stringMatching(/^Deployment lab85\/web: 3\/3 Ready/)]);
    expect(admin('get', 'clusterrolebinding', 'lab85-take-over').status).not.toBe(0);
    expect(admin('get', 'clusterrolebindings', '-o', 'json').stdout).not.toMatch(/"namespace": "lg-[0-9a-f]{6}-lab85"/);

    // Nothing of any job is left in the shared cluster.
    expect(admin('get', 'namespaces', '-l', 'labgrader.dev/job', '-o', 'name').stdout).toBe('');
    expect(admin('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort()).toEqual(
      namespacesBefore,
    );

    // The ServiceAccount's token is in no log line and no report.
    const token = (JSON.parse(readFileSync(graderKubeconfig, 'utf8')) as { users: { user: { token: string } }[] })
      .users[0]!.user.token;
    expect(token.length).toBeGreaterThan(100);
    for (const w of world!.workers) {
      expect(JSON.stringify(w.lines).includes(token)).toBe(false);
      expect(w.stderr().includes(token)).toBe(false);
    }
    expect(Object.values(reports).some((r) => JSON.stringify(r).includes(token))).toBe(false);

    // Both stop cleanly.
    for (const w of [a, b]) w.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  }, 1_500_000);
});
