/**
 * Nothing examined is not a pass, and a counted finding always costs points:
 * synthetic repositories (test/fixtures/fairness/) graded through the CLI
 * with the bundled rubrics, each shaped like a submission that used to
 * collect points for what it does not contain.
 *
 *  - single-configmap  scored 40/80 under lab-85 (secret configuration, resources and probes,
 *                      deployability and availability at 100% with no workload at all)
 *  - empty             a README only: not gradable, no points for manifest criteria
 *  - no-secret         a good Deployment with no Secret and no configuration at all got
 *                      "Secret-based configuration 15/15"; with no ServiceAccount or RBAC object,
 *                      "RBAC least privilege 15/15" under production-readiness
 *  - warnings          observability scored 15/15 next to its own warning (a severity the
 *                      production-readiness rubric raises from info)
 */
import { describe, expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import { runCli } from './support/cli.js';

async function grade(fixture: string, rubric: string, format = 'json'): Promise<{ code: number; stdout: string }> {
  const { code, stdout, stderr } = await runCli([
    'grade',
    `test/fixtures/fairness/${fixture}`,
    '--rubric',
    rubric,
    '--cluster',
    'none',
    '--format',
    format,
    '--no-progress',
  ]);
  if (!stdout) throw new Error(stderr);
  return { code, stdout };
}

async function report(fixture: string, rubric: string): Promise<Report> {
  const { stdout } = await grade(fixture, rubric);
  const parsed = JSON.parse(stdout) as Report;
  expectCountedFindingsToCost(parsed);
  return parsed;
}

const criterion = (r: Report, id: string) => r.criteria.find((c) => c.id === id)!;
const pointsOf = (r: Report, stage: string) =>
  Object.fromEntries(r.criteria.filter((c) => c.stage === stage).map((c) => [c.id, c.points]));
const requirementFindings = (r: Report) =>
  Object.fromEntries(
    r.findings.filter((f) => f.checkId === 'rubric/requirement').map((f) => [f.criteria[0], f.message]),
  );

/** The invariant, on every report: each criterion a counted finding is tagged with lost points. */
function expectCountedFindingsToCost(r: Report): void {
  for (const f of r.findings.filter((x) => x.severity !== 'info')) {
    for (const id of f.criteria) {
      const c = criterion(r, id);
      if (c.status === 'skipped' || c.status === 'not-gradable') continue;
      if (!(c.points < c.maxPoints))
        throw new Error(`${f.checkId} (${f.severity}) "${f.message}" cost ${id} nothing: ${c.points}/${c.maxPoints}`);
    }
  }
}

const NO_WORKLOAD_LAB85 = {
  'secret-configuration':
    'no Secret-based configuration found: Lab 85 asks the app to read its credentials (the API token) from a Secret, with env valueFrom.secretKeyRef, envFrom.secretRef or a secret volume, and no workload in the manifests refers to a Secret',
  'resources-and-probes':
    'no workload found: Lab 85 asks for a Deployment whose containers set CPU and memory requests and limits and have distinct liveness and readiness probes',
  deployable:
    'no workload found: Lab 85 asks for a Deployment (behind a Service) that a cluster can run; the manifests define no Deployment, StatefulSet or DaemonSet',
  availability:
    'no replicated workload found: Lab 85 asks for a Deployment with at least 2 replicas, a PodDisruptionBudget that allows node drains and a rolling-update strategy',
};
const NO_RBAC =
  "no RBAC found: the checklist asks each workload to run as a ServiceAccount of its own (not the namespace's default), bound only to the Roles it needs; the manifests define no ServiceAccount, Role or binding";

describe('nothing examined is not a pass', () => {
  it('a single ConfigMap earns nothing for the manifest criteria (was 40/80), and is told what was expected', async () => {
    const r = await report('single-configmap', 'lab-85');
    expect(r.status).toBe('graded');
    expect(pointsOf(r, 'lint')).toEqual({
      'secret-configuration': 0,
      'resources-and-probes': 0,
      deployable: 0,
      availability: 0,
    });
    expect(r.score).toEqual({ points: 0, maxPoints: 80, percent: 0, rubricMaxPoints: 100 });
    expect(requirementFindings(r)).toEqual(NO_WORKLOAD_LAB85);
    for (const [id, message] of Object.entries(NO_WORKLOAD_LAB85)) {
      expect(criterion(r, id)).toMatchObject({ status: 'failed', summary: message });
    }

    // The text report a student reads says it too.
    const { stdout } = await grade('single-configmap', 'lab-85', 'text');
    expect(stdout).toContain('no workload found: Lab 85 asks for a Deployment');

    // The checklist: the ConfigMap is valid (5/5), nothing else is there to tick.
    const checklist = await report('single-configmap', 'production-readiness');
    expect(pointsOf(checklist, 'lint')).toEqual({
      'valid-manifests': 5,
      resources: 0,
      'health-checks': 0,
      'rbac-least-privilege': 0,
      'replicas-and-pdb': 0,
      observability: 0,
      'security-baseline': 0,
    });
    expect(requirementFindings(checklist)['rbac-least-privilege']).toBe(NO_RBAC);
  });

  it('an empty repository is not gradable and gets no points for manifest criteria', async () => {
    for (const rubric of ['lab-85', 'production-readiness']) {
      const { code, stdout } = await grade('empty', rubric);
      const r = JSON.parse(stdout) as Report;
      expect(code).toBe(3);
      expect(r.status).toBe('not-gradable');
      expect(r.notGradable?.reason).toBe('no-manifests');
      expect(r.criteria.filter((c) => c.stage === 'lint').every((c) => c.status === 'not-gradable')).toBe(true);
      expect(r.score.points).toBe(0);
    }
    const r = await report('empty', 'lab-85');
    // No notes either: the docs criteria are zeros with their own findings; nothing to compare is a zero too.
    expect(pointsOf(r, 'docs')).toEqual({
      'architecture-notes': 0,
      'architecture-diagram': 0,
      'failure-analysis': 0,
      'notes-match-manifests': 0,
    });
    // Nothing to compare is a zero with the check's own finding, not "Notes match the manifests 5/5".
    expect(criterion(r, 'notes-match-manifests')).toMatchObject({
      status: 'failed',
      checks: [{ id: 'docs/manifest-consistency', examined: 1, passed: 0 }],
    });
    expect(r.findings.find((f) => f.checkId === 'docs/manifest-consistency')?.message).toMatch(
      /^No notes file was found \(expected architecture-notes\.md or docs\/architecture-notes\.md\)/,
    );
  });

  it('no Secret and no configuration at all is not "Secret-based configuration 15/15"; no RBAC is not "RBAC 15/15"', async () => {
    const r = await report('no-secret', 'lab-85');
    expect(pointsOf(r, 'lint')).toEqual({
      'secret-configuration': 0,
      // Everything else about the workload is right and keeps its points.
      'resources-and-probes': 15,
      deployable: 5,
      availability: 5,
    });
    expect(requirementFindings(r)).toEqual({ 'secret-configuration': NO_WORKLOAD_LAB85['secret-configuration'] });
    // The only manifest finding is what was missing (the docs findings are about the missing notes).
    expect(r.findings.filter((f) => !f.checkId.startsWith('docs/')).map((f) => f.checkId)).toEqual([
      'rubric/requirement',
    ]);

    const checklist = await report('no-secret', 'production-readiness');
    expect(criterion(checklist, 'rbac-least-privilege')).toMatchObject({
      points: 0,
      status: 'failed',
      summary: NO_RBAC,
    });
    // Of the 90 points the checklist grades without a cluster (its 10 cluster points are left out); the
    // security baseline also misses a NetworkPolicy (networkpolicy-present 0/1 of 7 → 15 × 6/7 = 12.86).
    expect(criterion(checklist, 'security-baseline')).toMatchObject({ points: 12.86 });
    expect(checklist.score).toMatchObject({ points: 72.86, maxPoints: 90 });
  });
});

describe('the tally and the findings agree', () => {
  it("observability's own warning costs its points (was 15/15); RBAC's warning costs its share", async () => {
    const r = await report('warnings', 'production-readiness');
    expect(criterion(r, 'observability')).toMatchObject({
      points: 0,
      status: 'failed',
      summary: 'lint/observability-metrics: 0/1 pass',
      checks: [{ id: 'lint/observability-metrics', examined: 1, passed: 0, findings: 1 }],
    });
    expect(r.findings.find((f) => f.checkId === 'lint/observability-metrics')).toMatchObject({
      severity: 'warning',
      criteria: ['observability'],
      location: { file: 'k8s/deployment.yaml', line: 4 },
    });
    // rbac-privileged (w2) 1/1, rbac-cluster-scope 0/1 → 15 × 2/3
    expect(criterion(r, 'rbac-least-privilege')).toMatchObject({ points: 10, status: 'partial' });
    expect(r.findings.find((f) => f.checkId === 'lint/rbac-cluster-scope')).toMatchObject({
      severity: 'warning',
      criteria: ['rbac-least-privilege'],
      location: { file: 'k8s/rbac.yaml' },
    });
    // No NetworkPolicy either: the security baseline's networkpolicy-present costs 15 × 1/7.
    expect(criterion(r, 'security-baseline')).toMatchObject({ points: 12.86 });
    expect(r.score).toMatchObject({ points: 67.86, maxPoints: 90 });
  });
});

describe('labgrader lint --rubric', () => {
  it('reports what the rules find, not what a criterion requires of a whole submission', async () => {
    const { code, stdout } = await runCli([
      'lint',
      'test/fixtures/fairness/single-configmap',
      '--rubric',
      'lab-85',
      '--format',
      'json',
      '--no-progress',
    ]);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as Report).findings).toEqual([]);
  });
});
