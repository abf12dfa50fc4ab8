/**
 * The bundled example labs, graded with rubrics/lab-85.yaml through the CLI:
 * each flawed example must lose exactly the points its flaws cost.
 *
 * These run with --cluster none, so they are fast and need no Docker: the
 * two cluster criteria (20 points) are skipped and left out of the total.
 * The cluster stage's grading of the examples is in
 * packages/cluster/test/kind.real.test.ts, against a real kind cluster.
 *
 * Scoring reminder (ratio): a criterion earns points × Σ(weight × passed/examined) / Σ(weight)
 * over its applicable checks (a check that examined nothing is left out). A criterion with
 * nothing examined at all, or without what its `requires` names, scores 0 with a finding.
 */
import { describe, expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import { runCli } from './support/cli.js';

async function grade(example: string): Promise<{ code: number; report: Report }> {
  const { code, stdout, stderr } = await runCli([
    'grade',
    `examples/${example}`,
    '--cluster',
    'none',
    '--format',
    'json',
    '--no-progress',
  ]);
  if (!stdout) throw new Error(stderr);
  return { code, report: JSON.parse(stdout) as Report };
}

const pointsOf = (report: Report) => Object.fromEntries(report.criteria.map((c) => [c.id, c.points]));
const findingsOf = (report: Report) =>
  report.findings.map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`);

const FULL = {
  'architecture-notes': 10,
  'architecture-diagram': 10,
  'secret-configuration': 15,
  'resources-and-probes': 15,
  'failure-analysis': 15,
  deployable: 5,
  availability: 5,
  'notes-match-manifests': 5,
  // Skipped (--cluster none): not counted in the total.
  'runs-in-cluster': 0,
  'survives-failure': 0,
};

describe('examples graded with the Lab 85 rubric', () => {
  it('lab-85-passing earns full marks with no findings', async () => {
    const { code, report } = await grade('lab-85-passing');
    expect(code).toBe(0);
    expect(report.status).toBe('graded');
    expect(pointsOf(report)).toEqual(FULL);
    expect(report.findings).toEqual([]);
    expect(report.score).toEqual({ points: 80, maxPoints: 80, percent: 100, rubricMaxPoints: 100 });
    expect(report.criteria.filter((c) => c.stage === 'cluster').map((c) => [c.id, c.status, c.maxPoints])).toEqual([
      ['runs-in-cluster', 'skipped', 5],
      ['survives-failure', 'skipped', 15],
    ]);
    expect(report.stages.find((s) => s.name === 'cluster')).toMatchObject({
      status: 'skipped',
      message: '--cluster none',
    });
  });

  it('lab-85-flawed-secrets loses the secret, limits and pinned-image points', async () => {
    const { code, report } = await grade('lab-85-flawed-secrets');
    expect(code).toBe(0);
    expect(findingsOf(report)).toEqual([
      'lint/image-tag k8s/deployment.yaml:44', // image ...:latest
      'lint/env-secret-literal k8s/deployment.yaml:59', // API_TOKEN value: "tok_live_..."
      'lint/container-resources k8s/deployment.yaml:65', // requests without limits
      'lint/secret-committed k8s/secret.yaml:9', // data.password is a real base64 value
    ]);
    expect(pointsOf(report)).toEqual({
      ...FULL,
      // env-secret-literal 0/1, secret-committed 0/1, configmap-secrets 1/1, all weight 1 (a literal
      // env credential and a committed Secret are the same leak; rubrics/lab-85.yaml) → 15 × 1/3
      'secret-configuration': 5,
      // container-resources (w2) 0/1; requests-within-limits n/a (no limits); fit-node 1/1, probes-present (w2),
      // probes-distinct, probe-port all pass → 15 × 5/7
      'resources-and-probes': 10.71,
      // 6 applicable checks (no Ingress, nothing to render), image-tag fails → 5 × 5/6
      deployable: 4.17,
    });
    expect(report.score).toMatchObject({ points: 64.88, maxPoints: 80, percent: 81.1 });
  });

  it('lab-85-flawed-probes loses the probe, port-wiring and availability points', async () => {
    const { report } = await grade('lab-85-flawed-probes');
    expect(findingsOf(report)).toEqual([
      'lint/replicas k8s/deployment.yaml:9', // replicas: 1
      'lint/rolling-update k8s/deployment.yaml:17', // maxUnavailable 1 of 1 replica
      'lint/probes-present k8s/deployment.yaml:34', // no readinessProbe
      'lint/probe-port k8s/deployment.yaml:65', // liveness on port 80, the Service port, undeclared
      'lint/pdb-drain k8s/pdb.yaml:7', // minAvailable 1 with 1 replica blocks drains
      'lint/service-target-port k8s/service.yaml:15', // targetPort 8081 matches no container port
    ]);
    expect(pointsOf(report)).toEqual({
      ...FULL,
      // container-resources (w2), requests-within-limits, fit-node pass; probes-present (w2) and probe-port fail;
      // probes-distinct n/a (one probe) → 15 × 4/7
      'resources-and-probes': 8.57,
      // service-target-port fails among 6 applicable checks → 5 × 5/6
      deployable: 4.17,
      // replicas, pdb-drain and rolling-update fail; pdb-present n/a below 2 replicas → 0
      availability: 0,
    });
  });

  it('lab-85-flawed-docs loses the notes, diagram and failure-analysis points', async () => {
    const { report } = await grade('lab-85-flawed-docs');
    expect(new Set(report.findings.map((f) => f.checkId))).toEqual(
      new Set(['docs/diagram-embedded', 'docs/required-sections', 'docs/failure-analysis']),
    );
    expect(report.findings.find((f) => f.checkId === 'docs/diagram-embedded')).toMatchObject({
      location: { file: 'architecture-notes.md', line: 3 },
      message: expect.stringContaining('docs/architecture.png') as unknown,
    });
    expect(pointsOf(report)).toEqual({
      ...FULL,
      // notes-present 1/1 (w1), required-sections 0/6 (w3) → 10 × 1/4
      'architecture-notes': 2.5,
      'architecture-diagram': 0,
      'failure-analysis': 0,
    });
  });

  it('lab-85-no-manifests is not gradable (exit 3), not a zero', async () => {
    const { code, report } = await grade('lab-85-no-manifests');
    expect(code).toBe(3);
    expect(report.status).toBe('not-gradable');
    expect(report.notGradable?.reason).toBe('no-manifests');
    const lintCriteria = report.criteria.filter((c) => c.stage === 'lint');
    expect(lintCriteria.every((c) => c.status === 'not-gradable')).toBe(true);
    // The notes themselves are graded; comparing them with manifests that do not exist earns nothing.
    expect(
      Object.fromEntries(report.criteria.filter((c) => c.stage === 'docs').map((c) => [c.id, [c.points, c.status]])),
    ).toEqual({
      'architecture-notes': [10, 'passed'],
      'architecture-diagram': [10, 'passed'],
      'failure-analysis': [15, 'passed'],
      'notes-match-manifests': [0, 'failed'],
    });
    expect(report.findings.map((f) => [f.checkId, f.criteria])).toEqual([
      ['rubric/requirement', ['notes-match-manifests']],
    ]);
  });
});
