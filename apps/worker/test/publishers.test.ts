import { describe, expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import type { CheckRunReporter } from '@labgrader/github';
import { GRADE_JOB_SCHEMA_VERSION, createServiceLogger, type GradeJob } from '@labgrader/queue';
import { checkRunPublisher, withoutClusterDetails } from '../src/publishers.js';
import type { PublishContext } from '../src/ports.js';
import { LogCapture } from '../../../packages/queue/test/support/services.js';

const job: GradeJob = {
  schemaVersion: GRADE_JOB_SCHEMA_VERSION,
  repository: { fullName: 'course-org/lab-85-alice', cloneUrl: 'https://github.com/course-org/lab-85-alice.git' },
  commit: 'a'.repeat(40),
  ref: 'refs/heads/main',
  event: 'push',
  deliveryId: 'd-1',
  requestId: 'r-1',
  pushedAt: '2026-03-01T10:00:00.000Z',
  rubricId: 'lab-85',
  lab: { id: 'lab-85', title: 'Lab 85', passPercent: 60 },
};
const ctx: PublishContext = {
  job,
  jobId: 'job-1',
  attempt: 1,
  logger: createServiceLogger({ name: 't', destination: new LogCapture() }),
};

describe('check run publisher', () => {
  it('throttles progress, keeps the latest stage, and never lets an update overtake the completion', async () => {
    const calls: string[] = [];
    let inFlight = 0;
    const reporter: CheckRunReporter = {
      async queued() {},
      async inProgress(target, stage) {
        inFlight += 1;
        calls.push(`in_progress:${stage}`);
        await new Promise((r) => setTimeout(r, 30)); // GitHub takes its time
        inFlight -= 1;
      },
      async completed(target) {
        expect(inFlight).toBe(0);
        expect(target).toMatchObject({ labTitle: 'Lab 85', passPercent: 60 });
        calls.push('completed');
      },
      async cancelled() {
        calls.push('cancelled');
      },
    };
    const publisher = checkRunPublisher(reporter, { progressIntervalMs: 100 });
    await publisher.started!(ctx);
    for (let i = 0; i < 200; i++) publisher.progress!(ctx, `lint: file ${i}`);
    await new Promise((r) => setTimeout(r, 130)); // one interval: the latest stage is sent
    publisher.progress!(ctx, 'docs'); // in flight or pending when the report is published
    publisher.progress!(ctx, 'cluster');
    await publisher.publish({} as Report, { ...ctx, meta: {} as never, retriesExhausted: false });
    await new Promise((r) => setTimeout(r, 150));
    expect(calls[0]).toBe('in_progress:starting');
    expect(calls).toContain('in_progress:lint: file 199');
    expect(calls.filter((c) => c.startsWith('in_progress')).length).toBeLessThanOrEqual(3);
    expect(calls.at(-1)).toBe('completed'); // nothing after it
  });
});

describe('withoutClusterDetails', () => {
  it('keeps the scores and drops what the cluster stage found', () => {
    const report = {
      criteria: [
        { id: 'probes', stage: 'lint', summary: 'ok', checks: [{ id: 'lint/probes', summary: 's' }] },
        {
          id: 'recovery',
          stage: 'cluster',
          summary: 'recovered in 4 s',
          points: 3,
          checks: [{ id: 'cluster/pod-kill', summary: '4.2 s' }],
        },
      ],
      findings: [
        { checkId: 'lint/probes', criteria: ['probes'] },
        { checkId: 'cluster/pod-kill', criteria: ['recovery'] },
      ],
      evidence: [
        { checkId: 'cluster/pod-kill', label: 'recovery-time' },
        { checkId: 'docs/diagram', label: 'diagram' },
      ],
    } as unknown as Report;
    const hidden = withoutClusterDetails(report);
    expect(hidden.findings.map((f) => f.checkId)).toEqual(['lint/probes']);
    expect(hidden.evidence.map((e) => e.checkId)).toEqual(['docs/diagram']);
    expect(hidden.criteria[1]).toMatchObject({ points: 3, summary: 'details are shown after the deadline' });
    expect(hidden.criteria[1]!.checks[0]!.summary).toBeUndefined();
    expect(hidden.criteria[0]).toEqual(report.criteria[0]);
  });
});
