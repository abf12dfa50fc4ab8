import { LABGRADER_VERSION, REPORT_SCHEMA_ID, reportSchema, type Report, type ReportFinding } from '@labgrader/core';

const FILES = [
  'k8s/deployment.yaml',
  'k8s/service.yaml',
  'k8s/overlays/prod/kustomization.yaml',
  'chart/templates/web.yaml',
];
const SEVERITIES = ['error', 'warning', 'info'] as const;

/** `n` findings spread over files and lines, each with a fix hint; `withoutFile` of them cluster-level (no location). */
export function findings(n: number, options: { withoutFile?: number; messageLength?: number } = {}): ReportFinding[] {
  const out: ReportFinding[] = [];
  for (let i = 0; i < n; i++) {
    const clusterLevel = i < (options.withoutFile ?? 0);
    const pad = options.messageLength ? ` ${'x'.repeat(options.messageLength)}` : '';
    out.push({
      checkId: clusterLevel ? 'cluster/pod-kill-recovery' : `lint/rule-${i % 7}`,
      severity: SEVERITIES[i % 3]!,
      message: `Finding ${i}: container web in Deployment lab85/web sets no memory limit${pad}`,
      ...(clusterLevel
        ? {}
        : {
            location: {
              file: FILES[i % FILES.length]!,
              line: 1 + (i % 97),
              column: 1 + (i % 5),
              ...(i % 4 === 0 ? { endLine: 3 + (i % 97) } : {}),
            },
          }),
      fixHint: 'Set resources.limits.memory:\n\n```yaml\nresources:\n  limits:\n    memory: 128Mi\n```',
      subject: `Deployment lab85/web #${i}`,
      criteria: [clusterLevel ? 'survives-failure' : 'limits'],
    });
  }
  return out;
}

export interface ReportOptions {
  commit: string;
  repository?: string;
  points?: number;
  maxPoints?: number;
  findings?: ReportFinding[];
  notGradable?: boolean;
}

/** A valid report (checked against the report schema) for one commit. */
export function report(options: ReportOptions): Report {
  const points = options.points ?? 67.7;
  const maxPoints = options.maxPoints ?? 80;
  const built: Report = {
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: 1,
    tool: { name: 'labgrader', version: LABGRADER_VERSION },
    submission: {
      source: 'github',
      repository: options.repository ?? 'Codertocat/Hello-World',
      commit: options.commit,
      ref: 'refs/heads/main',
    },
    rubric: { id: 'lab-85', title: 'Lab 85: operating Kubernetes in production', digest: 'sha256:00' },
    status: options.notGradable ? 'not-gradable' : 'graded',
    ...(options.notGradable
      ? {
          notGradable: {
            reason: 'no-manifests',
            message: 'No Kubernetes manifests were found in the repository.',
            hint: 'Put the manifests under k8s/.',
          },
        }
      : {}),
    score: {
      points: options.notGradable ? 0 : points,
      maxPoints: options.notGradable ? 0 : maxPoints,
      percent: options.notGradable || maxPoints === 0 ? 0 : Math.round((points / maxPoints) * 1000) / 10,
      rubricMaxPoints: 80,
    },
    criteria: [
      {
        id: 'limits',
        title: 'Requests and limits',
        stage: 'lint',
        points: options.notGradable ? 0 : points,
        maxPoints: 60,
        status: options.notGradable ? 'not-gradable' : 'partial',
        checks: [{ id: 'lint/container-resources', examined: 4, passed: 3, findings: 1, weight: 1 }],
        summary: '3 of 4 containers set limits',
      },
      {
        id: 'survives-failure',
        title: 'Survives a controlled failure',
        stage: 'cluster',
        points: 0,
        maxPoints: 20,
        status: options.notGradable ? 'not-gradable' : 'partial',
        checks: [{ id: 'cluster/pod-kill-recovery', examined: 1, passed: 0, findings: 1, weight: 1 }],
        summary: 'recovered in 95 s',
      },
    ],
    findings: options.findings ?? [],
    evidence: [],
    stages: [{ name: 'fetch', status: 'ok', startedAt: '2026-11-21T10:00:00.000Z', durationMs: 120 }],
    startedAt: '2026-11-21T10:00:00.000Z',
    finishedAt: '2026-11-21T10:00:01.000Z',
    durationMs: 1000,
  };
  return reportSchema.parse(built);
}
