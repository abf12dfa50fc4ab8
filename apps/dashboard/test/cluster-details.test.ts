/**
 * A lab with `showClusterDetails: after-deadline`: before its deadline a
 * student's own submission shows the cluster stage's points but not its
 * findings and evidence (what GitHub shows them too), instructors see it all,
 * and after the deadline everyone does. The store keeps the whole report.
 */
import { describe, expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import { parseCourseConfig } from '@labgrader/course';
import type { DashboardStore, ReportStore, StoredReport } from '@labgrader/store';
import { createDashboardData } from '../src/data.js';

const COURSE = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: c
title: C
organization: course-org
timeZone: UTC
instructors: [prof-martin]
labs:
  - id: lab-85
    title: Lab 85
    rubric: lab-85
    deadline: 2026-03-02T00:00
    showClusterDetails: after-deadline
`,
  'c.yaml',
);

const report = {
  criteria: [
    {
      id: 'probes',
      stage: 'lint',
      summary: 'ok',
      points: 5,
      maxPoints: 5,
      checks: [{ id: 'lint/probes', summary: 's' }],
    },
    {
      id: 'survives-failure',
      stage: 'cluster',
      summary: 'recovered in 4 s',
      points: 3,
      maxPoints: 15,
      checks: [{ id: 'cluster/pod-kill-recovery', summary: '4.2 s' }],
    },
  ],
  findings: [
    { checkId: 'lint/probes', criteria: ['probes'], severity: 'warning', message: 'no readiness probe' },
    { checkId: 'cluster/pod-kill-recovery', criteria: ['survives-failure'], severity: 'error', message: 'slow' },
    // A cause the stage reports under a check this rubric does not grade (no criterion).
    { checkId: 'cluster/deploys-ready', criteria: [], severity: 'error', message: 'ErrImagePull' },
  ],
  evidence: [
    { checkId: 'cluster/pod-kill-recovery', label: 'recovery-time', detail: '4.2 s' },
    { checkId: 'cluster/deploys-ready', label: 'root-cause', detail: 'the image cannot be pulled' },
    { checkId: 'docs/diagram', label: 'diagram', detail: 'one' },
  ],
} as unknown as Report;

const grading = {
  id: '7',
  labId: 'lab-85',
  student: 'alice',
  owner: 'course-org',
  repository: 'course-org/lab-85-alice',
  commit: 'a'.repeat(40),
  report,
} as unknown as StoredReport;

const store = { getById: async (id: string) => (id === '7' ? grading : undefined) } as unknown as ReportStore &
  DashboardStore;
const alice = { login: 'alice', role: 'student', via: 'session' } as const;
const prof = { login: 'prof-martin', role: 'instructor', via: 'session' } as const;

describe('cluster details before the deadline (showClusterDetails: after-deadline)', () => {
  it('are hidden from the student before the deadline, shown to instructors, and to everyone after it', async () => {
    const before = createDashboardData({ store, course: COURSE, now: () => new Date('2026-03-01T12:00:00Z') });
    const seen = (await before.grading(alice, '7')).report;
    expect(seen.findings.map((f) => f.checkId)).toEqual(['lint/probes']);
    expect(seen.evidence.map((e) => e.label)).toEqual(['diagram']);
    expect(seen.criteria.map((c) => [c.id, c.points, c.summary])).toEqual([
      ['probes', 5, 'ok'],
      ['survives-failure', 3, 'details are shown after the deadline'],
    ]);
    expect((await before.grading(prof, '7')).report).toBe(report);

    const after = createDashboardData({ store, course: COURSE, now: () => new Date('2026-03-02T00:00:01Z') });
    expect((await after.grading(alice, '7')).report).toBe(report);
    // Another student's submission is still 404, whatever the date.
    await expect(after.grading({ login: 'bob', role: 'student', via: 'session' }, '7')).rejects.toThrow('no grading 7');
  });
});
