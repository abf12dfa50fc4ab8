/**
 * The fair outcome of each class of lab the linter used to grade unfairly,
 * through the real pipeline (the CLI, the bundled rubrics): points and the
 * message a student reads.
 *
 * Each lab is examples/lab-85-passing (full marks, no findings) with the
 * files of one fixture under fixtures/labs/<class>/ added or replaced (and,
 * for some, files removed), so every point it loses is the cost of that
 * class alone. Only the lint criteria are compared: a new workload the notes
 * do not describe also moves docs/manifest-consistency, which is not ours.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Finding, Report } from '@labgrader/core';
import { runCli } from '../../../test/support/cli.js';
import { helmAvailable, warnHelmNotRun } from './helpers/real-tools.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const labs = path.join(here, 'fixtures', 'labs');
const passing = path.join(root, 'examples', 'lab-85-passing');
const scratch = mkdtempSync(path.join(tmpdir(), 'labgrader-fairness-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface LabOptions {
  /** Start from examples/lab-85-passing (default) or from the fixture alone. */
  base?: boolean;
  /** Files of the base to delete. */
  remove?: string[];
  rubric?: string;
}

async function grade(fixture: string | undefined, options: LabOptions = {}): Promise<Report> {
  const dir = mkdtempSync(path.join(scratch, `${fixture ?? 'base'}-`));
  if (options.base !== false) cpSync(passing, dir, { recursive: true });
  if (fixture) cpSync(path.join(labs, fixture), dir, { recursive: true });
  for (const file of options.remove ?? []) rmSync(path.join(dir, file));
  const { stdout, stderr } = await runCli([
    'grade',
    dir,
    '--rubric',
    options.rubric ?? 'lab-85',
    '--cluster',
    'none',
    '--format',
    'json',
    '--no-progress',
  ]);
  if (!stdout) throw new Error(stderr);
  return JSON.parse(stdout) as Report;
}

/** rubrics/production-readiness.yaml with the two checks this package recommends for its security baseline. */
const LAB85_LINT = ['secret-configuration', 'resources-and-probes', 'deployable', 'availability'] as const;
const LAB85_FULL = { 'secret-configuration': 15, 'resources-and-probes': 15, deployable: 5, availability: 5 };

function points(report: Report, ids: readonly string[]): Record<string, number> {
  return Object.fromEntries(report.criteria.filter((c) => ids.includes(c.id)).map((c) => [c.id, c.points]));
}
const lintFindings = (report: Report): Finding[] => report.findings.filter((f) => f.checkId.startsWith('lint/'));
const costing = (report: Report) =>
  lintFindings(report)
    .filter((f) => f.severity !== 'info')
    .map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`);
const notes = (report: Report, checkId: string) =>
  lintFindings(report)
    .filter((f) => f.checkId === checkId && f.severity === 'info')
    .map((f) => `${f.location?.file}:${f.location?.line} ${f.message}`);

describe('stateful singletons (lint/replicas, lint/rolling-update, lint/probe-port)', () => {
  it('a Postgres Deployment on a ReadWriteOnce claim, a one-replica Postgres StatefulSet and redis-cart cost nothing and are explained', async () => {
    const report = await grade('stateful-singletons');
    expect(report.status).toBe('graded');
    // Before: lint/replicas failed all three and lint/rolling-update failed postgres's Recreate:
    // availability 5 × (1/4 + 1 + 1 + 2/3) / 4 = 3.65.
    expect(points(report, LAB85_LINT)).toEqual(LAB85_FULL);
    expect(costing(report)).toEqual([]);
    expect(notes(report, 'lint/replicas')).toEqual([
      expect.stringMatching(
        /^k8s\/orders-db\.yaml:9 StatefulSet lab85\/orders-db runs docker\.io\/bitnami\/postgresql:15\.4\.0 \(PostgreSQL, a database\) and keeps its data on volumeClaimTemplates, with 1 replica: right for a stateful singleton\. A second replica would get a volume of its own/,
      ),
      expect.stringMatching(
        /^k8s\/postgres\.yaml:8 Deployment lab85\/postgres runs postgres:16\.4 \(PostgreSQL, a database\) and mounts the ReadWriteOnce claim postgres-data, with 1 replica: right for a stateful singleton\. A second replica could not attach the ReadWriteOnce claim postgres-data from another node.*Replication is a feature of PostgreSQL \(streaming replication, .*\), not of spec\.replicas\. Its availability comes from one pod with no PodDisruptionBudget that blocks drains, fast restarts, and a recovery plan \(backups and a tested restore\)$/,
      ),
      expect.stringMatching(
        /^k8s\/redis-cart\.yaml:7 Deployment lab85\/redis-cart runs redis:7\.4-alpine \(Redis, a cache\), with 1 replica \(replicas is not set\): right for a stateful singleton\. A second replica would be a second, independent Redis with its own data/,
      ),
    ]);
    // Numeric ports the containers do not declare: Kubernetes probes and routes them anyway.
    expect(notes(report, 'lint/probe-port').map((n) => n.split(' ')[0])).toEqual([
      'k8s/postgres.yaml:38',
      'k8s/redis-cart.yaml:24',
    ]);
    expect(notes(report, 'lint/service-target-port').map((n) => n.split(' ')[0])).toEqual([
      'k8s/postgres.yaml:70',
      'k8s/redis-cart.yaml:48',
    ]);
  });

  it('a RollingUpdate Deployment on a ReadWriteOnce claim loses the rollout point and is told why', async () => {
    const report = await grade('rwo-rolling-update');
    expect(costing(report)).toEqual(['lint/rolling-update k8s/postgres.yaml:7']);
    // replicas, pdb-present, pdb-drain 1/1; rolling-update 1/2 (web passes, postgres fails) → 5 × 3.5/4
    expect(points(report, LAB85_LINT)).toEqual({ ...LAB85_FULL, availability: 4.38 });
    expect(lintFindings(report).find((f) => f.checkId === 'lint/rolling-update')?.message).toBe(
      'Deployment lab85/postgres runs postgres:16.4 (PostgreSQL, a database) and mounts the ReadWriteOnce claim postgres-data but rolls out with RollingUpdate (maxUnavailable 25% of 1 replica): the new pod starts while the old one still holds the volume, and cannot attach it from another node (Multi-Attach error), so the rollout gets stuck; use strategy type Recreate',
    );
  });
});

describe('probes and resources as Kubernetes runs them', () => {
  it('probes that differ only by a header (and a port name) are identical in effect', async () => {
    const report = await grade('probes-differ-by-header');
    expect(costing(report)).toEqual(['lint/probes-distinct k8s/deployment.yaml:72']);
    // container-resources (w2), within-limits, fit-node, probes-present (w2), probe-port pass; probes-distinct fails → 15 × 7/8
    expect(points(report, LAB85_LINT)).toEqual({ ...LAB85_FULL, 'resources-and-probes': 13.13 });
    expect(lintFindings(report).find((f) => f.checkId === 'lint/probes-distinct')?.message).toBe(
      'Container "web" of Deployment lab85/web uses the same check for liveness and readiness (they differ only in httpHeaders and in how the port is written ("http" and 8080), which do not change what is checked); a dependency outage would restart every replica',
    );
  });

  it('a resources: block indented at pod level is named as such, at its line', async () => {
    const report = await grade('pod-level-resources');
    expect(costing(report)).toEqual(['lint/container-resources k8s/deployment.yaml:83']);
    // container-resources (w2) fails; requests-within-limits has no container limits to compare (left out);
    // fit-node, probes-present (w2), probes-distinct, probe-port pass → 15 × 5/7
    expect(points(report, LAB85_LINT)).toEqual({ ...LAB85_FULL, 'resources-and-probes': 10.71 });
    expect(lintFindings(report).find((f) => f.checkId === 'lint/container-resources')?.message).toBe(
      'Container "web" of Deployment lab85/web does not set requests.cpu, requests.memory, limits.cpu, limits.memory: its resources: block is indented at pod level (spec.template.spec.resources) instead of under the container; move it under "- name: web" (pod-level resources are a separate, alpha feature in Kubernetes 1.33, off by default)',
    );
  });
});

describe('YAML tags read the way Kubernetes reads them', () => {
  it('a literal password written as !!binary is a literal password, and the manifest is valid', async () => {
    const report = await grade('binary-password');
    // Before: the value was read as a mapping, so env-secret-literal saw no string (secret-configuration
    // kept its 15 points) and schema-valid reported a type error in the Deployment instead.
    expect(costing(report)).toEqual(['lint/env-secret-literal k8s/deployment.yaml:66']);
    // env-secret-literal (w2) 0/1, secret-committed and configmap-secrets pass → 15 × 2/4
    expect(points(report, LAB85_LINT)).toEqual({ ...LAB85_FULL, 'secret-configuration': 7.5 });
    expect(lintFindings(report).find((f) => f.checkId === 'lint/env-secret-literal')?.message).toBe(
      'Env var DB_PASSWORD of container "web" (Deployment lab85/web) holds a literal secret-looking value; read it from a Secret with valueFrom.secretKeyRef',
    );
  });
});

describe('kustomizations: what kustomize deploys is what is graded', () => {
  it('a pod commented out of resources: is not graded, and the report says so', async () => {
    const report = await grade('kustomize-excluded');
    // The debug pod (busybox:latest, a literal password, no limits, no probes) costs nothing.
    expect(points(report, LAB85_LINT)).toEqual(LAB85_FULL);
    expect(costing(report)).toEqual([]);
    expect(notes(report, 'lint/render')).toEqual([
      'k8s/kustomization.yaml:11 k8s/debug-pod.yaml (Pod lab85/debug) is commented out of k8s/kustomization.yaml: kustomize does not deploy it, so it was not linted (uncomment the entry if it should be deployed)',
    ]);
  });
});

describe('messages that are true', () => {
  it('an autoscaled workload "runs 2 to 6 replicas", not the spec.replicas an HPA overrides', async () => {
    const report = await grade('hpa-replicas-message', { rubric: 'production-readiness', remove: ['k8s/pdb.yaml'] });
    const pdb = lintFindings(report).find((f) => f.checkId === 'lint/pdb-present');
    expect(pdb?.message).toBe(
      'Deployment lab85/web runs 2 to 6 replicas (autoscaled by HorizontalPodAutoscaler lab85/web) but no PodDisruptionBudget selects its pods; a node drain may evict them all at once',
    );
  });

  it('an egress rule to a database deployed separately is an info, not "blocked traffic"', async () => {
    const base = await grade(undefined, { rubric: 'production-readiness' });
    const report = await grade('egress-to-external-db', { rubric: 'production-readiness' });
    expect(costing(report)).toEqual(costing(base));
    expect(points(report, ['security-baseline'])).toEqual(points(base, ['security-baseline']));
    expect(notes(report, 'lint/networkpolicy-selector')).toEqual([
      'k8s/networkpolicy-db.yaml:15 NetworkPolicy lab85/web-to-postgresql allows traffic to pods labelled app.kubernetes.io/name=postgresql, which the repository does not define: if they are deployed separately in the namespace (a database installed by a chart or an operator), this rule lets that traffic through; if they do not exist, it allows nothing. Say in the notes which component provides them',
    ]);
  });
});

describe('security baseline checks the linter lacked (now in the bundled production-readiness rubric)', () => {
  it('the bundled rubric grades a missing NetworkPolicy and an exposed database in the security baseline', () => {
    const text = readFileSync(path.join(root, 'rubrics', 'production-readiness.yaml'), 'utf8');
    expect(text).toContain('      - lint/networkpolicy-present\n      - { id: lint/database-exposed, weight: 2 }\n');
  });

  it('the passing lab keeps every security-baseline point', async () => {
    const report = await grade(undefined, { rubric: 'production-readiness' });
    expect(points(report, ['security-baseline'])).toEqual({ 'security-baseline': 15 });
  });

  it('no NetworkPolicy at all: one warning, at the Namespace', async () => {
    const report = await grade(undefined, { rubric: 'production-readiness', remove: ['k8s/networkpolicy.yaml'] });
    expect(costing(report)).toEqual(['lint/networkpolicy-present k8s/namespace.yaml:4']);
    expect(lintFindings(report).find((f) => f.checkId === 'lint/networkpolicy-present')?.message).toBe(
      'Namespace lab85 has no NetworkPolicy: the pods of its 1 workload (Deployment lab85/web) accept connections from every pod in the cluster and can reach anything; add a default-deny policy and allow what each workload needs',
    );
    // security-context (w2), host-access, image-tag, image-pull-policy, env-secret-literal, configmap-secrets pass;
    // networkpolicy-present fails; database-exposed (no database), the DNS and selector checks (no policy) have
    // nothing to examine (left out) → 15 × 7/8
    expect(points(report, ['security-baseline'])).toEqual({ 'security-baseline': 13.13 });
  });

  it('a database exposed through a NodePort costs the security baseline, at the Service type', async () => {
    const report = await grade('database-exposed', { rubric: 'production-readiness' });
    expect(costing(report).filter((f) => f.startsWith('lint/database-exposed'))).toEqual([
      'lint/database-exposed k8s/postgres.yaml:65',
    ]);
    expect(lintFindings(report).find((f) => f.checkId === 'lint/database-exposed')?.message).toBe(
      "Service lab85/postgres (type NodePort) exposes Deployment lab85/postgres, which runs postgres:16.4 (PostgreSQL, a database) and mounts the ReadWriteOnce claim postgres-data, on every node's address on port 5432 (node port 30432): anyone who reaches it can try passwords and exploits against it. Use a ClusterIP Service and kubectl port-forward for administration",
    );
    expect(report.criteria.find((c) => c.id === 'security-baseline')?.checks).toContainEqual(
      expect.objectContaining({ id: 'lint/database-exposed', examined: 1, passed: 0 }),
    );
    // The Postgres container has no security context either (security-context 1/2, w2); with database-exposed
    // (w2) 0/1 and networkpolicy-present 1/1 → 15 × 9/12
    expect(points(report, ['security-baseline'])).toEqual({ 'security-baseline': 11.25 });
  });
});

describe('Helm charts', () => {
  // Runs where .ci/run built helm into ~/.cache/labgrader/bin (or LABGRADER_HELM points at one).
  warnHelmNotRun('grading a chart with the helm in ~/.cache/labgrader/bin');
  (helmAvailable ? it : it.skip)(
    'are rendered with the helm labgrader finds outside PATH, not "not gradable"',
    async () => {
      const report = await grade('helm-chart', { base: false, rubric: 'production-readiness' });
      expect(report.status).toBe('graded');
      expect(costing(report)).toContain('lint/replicas chart/templates/deployment.yaml:6');
    },
  );
});

describe('gaps that got full marks', () => {
  it('an old copy of the Deployment costs the valid-manifests points, at its name, naming the first definition', async () => {
    const base = await grade(undefined, { rubric: 'production-readiness' });
    const report = await grade('duplicate-deployment', { rubric: 'production-readiness' });
    // Before: 5/5 (both copies pass every check; the cluster ran the old image).
    expect(costing(report)).toEqual([...costing(base), 'lint/duplicate-object k8s/old-deployment.yaml:6']);
    expect(lintFindings(report).find((f) => f.checkId === 'lint/duplicate-object')?.message).toBe(
      'Deployment lab85/web is already defined at k8s/deployment.yaml:4, differently: kubectl apply applies both and the one applied last replaces the other, so the cluster runs only one of the definitions that were graded; keep one (or give this one another name)',
    );
    // yaml-valid, schema-valid, workload-selector, service-selector, service-target-port pass; duplicate-object
    // 7/8 objects (render, ingress-backend, statefulset-service: nothing to examine) → 5 × (5 + 7/8) / 6
    expect(points(report, ['valid-manifests'])).toEqual({ 'valid-manifests': 4.9 });
  });

  it('a Role reading every Secret bound to the default ServiceAccount costs RBAC least privilege; the web one reading its Secret does not', async () => {
    const base = await grade(undefined, { rubric: 'production-readiness' });
    const report = await grade('default-sa-secrets', { rubric: 'production-readiness' });
    // Before: 15/15 (no wildcard, no admin role).
    expect(costing(report)).toEqual([...costing(base), 'lint/rbac-privileged k8s/rbac.yaml:49']);
    expect(lintFindings(report).find((f) => f.checkId === 'lint/rbac-privileged')?.message).toBe(
      'RoleBinding lab85/default-secret-reader grants Role lab85/secret-reader (get, list, watch on Secrets, k8s/rbac.yaml:35) to ServiceAccount default, which every pod of namespace lab85 without a serviceAccountName runs as: any of those pods can read every Secret of namespace lab85, credentials meant for other workloads included',
    );
    // rbac-privileged (w2) 1/2; rbac-cluster-scope has no ClusterRoleBinding to examine → 15 × 1/2
    expect(points(report, ['rbac-least-privilege'])).toEqual({ 'rbac-least-privilege': 7.5 });
  });
});
