import { LABGRADER_VERSION, REPORT_SCHEMA_ID, type Report } from '@labgrader/core';

export function sampleReport(overrides: Partial<Report> = {}): Report {
  return {
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: 1,
    tool: { name: 'labgrader', version: LABGRADER_VERSION },
    submission: { source: 'git', repository: 'https://github.com/student/lab-85', commit: '0123456789abcdef0123456789abcdef01234567', ref: 'main' },
    rubric: { id: 'lab-85', title: 'Lab 85 | Production', digest: 'sha256:00' },
    status: 'graded',
    score: { points: 17.5, maxPoints: 30, percent: 58.3, rubricMaxPoints: 40 },
    criteria: [
      { id: 'limits', title: 'Resource limits', stage: 'lint', points: 7.5, maxPoints: 10, status: 'partial', checks: [{ id: 'lint/container-resources', examined: 4, passed: 3, findings: 1, weight: 1 }], summary: 'lint/container-resources: 3/4 pass' },
      { id: 'notes', title: 'Notes', stage: 'docs', points: 10, maxPoints: 10, status: 'passed', checks: [{ id: 'docs/notes-present', examined: 1, passed: 1, findings: 0, weight: 1 }], summary: 'docs/notes-present: 1/1 pass' },
      { id: 'secrets', title: 'Secrets', stage: 'lint', points: 0, maxPoints: 10, status: 'failed', checks: [{ id: 'lint/secret-env', examined: 1, passed: 0, findings: 1, weight: 1 }], summary: 'lint/secret-env: 0/1 pass' },
      { id: 'drill', title: 'Failure drill', stage: 'cluster', points: 0, maxPoints: 10, status: 'skipped', checks: [], summary: 'not graded: the cluster stage did not run (--cluster none)' },
    ],
    findings: [
      {
        checkId: 'lint/container-resources',
        severity: 'error',
        message: 'Container sidecar in Deployment lab85/web sets no memory limit',
        location: { file: 'k8s/deploy ment.yaml', line: 42, column: 11, endLine: 42, endColumn: 18 },
        fixHint: 'Set limits:\n\n```yaml\nresources:\n  limits:\n    memory: 128Mi\n```',
        docsUrl: 'https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/',
        subject: 'Deployment lab85/web container sidecar',
        criteria: ['limits'],
      },
      {
        checkId: 'lint/secret-env',
        severity: 'warning',
        message: 'env DB_PASSWORD has a literal value; use a secretKeyRef',
        location: { file: 'k8s/deploy ment.yaml', line: 50, column: 20 },
        criteria: ['secrets'],
      },
      { checkId: 'docs/notes-present', severity: 'info', message: 'notes found at docs/architecture-notes.md', criteria: ['notes'] },
    ],
    evidence: [{ checkId: 'docs/diagram-embedded', label: 'diagram', detail: 'docs/arch.svg (SVG)' }],
    stages: [
      { name: 'fetch', status: 'ok', startedAt: '2026-11-21T10:00:00.000Z', durationMs: 120 },
      { name: 'lint', status: 'ok', startedAt: '2026-11-21T10:00:00.120Z', durationMs: 80, budgetMs: 180000 },
      { name: 'cluster', status: 'skipped', startedAt: '2026-11-21T10:00:00.200Z', durationMs: 0, message: '--cluster none' },
    ],
    startedAt: '2026-11-21T10:00:00.000Z',
    finishedAt: '2026-11-21T10:00:00.300Z',
    durationMs: 300,
    ...overrides,
  };
}
