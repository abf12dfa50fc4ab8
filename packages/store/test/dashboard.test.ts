/**
 * The dashboard's read queries (DashboardStore) on real PostgreSQL: the lab
 * overview with latest and counting gradings, the generated criterion/check
 * columns, statistics, the push timeline, a student's gradings, a commit's
 * regrade history, by id, labs and the lab version.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { createPostgresReportStore, type GradeMetadata, type PostgresReportStore } from '@labgrader/store';
import { TEST_DATABASE_URL, uniqueSchema } from '../../queue/test/support/services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHA = (n: number) => n.toString(16).padStart(40, '0');

let passing: Report;
let flawed: Report;
let store: PostgresReportStore;
let n = 0;

function meta(overrides: Partial<GradeMetadata>): GradeMetadata {
  n += 1;
  return {
    jobId: `job-${n}`,
    deliveryId: `delivery-${n}`,
    event: 'push',
    ref: 'refs/heads/main',
    pushedAt: '2026-03-01T10:00:00.000Z',
    attempt: 1,
    lab: { id: 'lab-85', title: 'Lab 85' },
    ...overrides,
  };
}

beforeAll(async () => {
  const rubric = await loadRubric('lab-85', ROOT);
  const grade = (example: string) =>
    gradeSource(
      { kind: 'directory', path: path.join(ROOT, 'examples', example) },
      { rubric, skip: { cluster: 'not in store tests' } },
      { runner: createExecaRunner(), stages: builtinStages },
    );
  [passing, flawed] = await Promise.all([grade('lab-85-passing'), grade('lab-85-flawed-probes')]);
  // A drill's recovery time, as the cluster checks record it.
  passing = {
    ...passing,
    evidence: [
      ...passing.evidence,
      { checkId: 'cluster/pod-kill-recovery', label: 'recovery-time', detail: '12.5 s (pod-kill)' },
      { checkId: 'cluster/pod-kill-recovery', label: 'recovery-time', detail: 'not a time' },
    ],
  };
  store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema('dash') });
  await store.migrate();
}, 120_000);

afterAll(async () => {
  await store.dropSchema();
  await store.close();
});

describe('DashboardStore', () => {
  it('answers the overview, statistics, timeline, history and regrade queries', async () => {
    const save = (student: string, commit: number, report: Report, extra: Partial<GradeMetadata>) =>
      store.save(
        { repository: `course-org/lab85-${student}`, commit: SHA(commit), rubricId: 'lab-85', labId: 'lab-85' },
        report,
        meta({ student, ...extra }),
      );
    const onTime = { status: 'on-time', deadline: '2026-03-02T00:00:00.000Z' };
    const alice1 = await save('alice', 1, flawed, { pushedAt: '2026-03-01T10:00:00Z', deadline: onTime });
    const alice2 = await save('alice', 2, passing, { pushedAt: '2026-03-01T12:30:00Z', deadline: onTime });
    const aliceRegrade = await save('alice', 2, passing, {
      pushedAt: '2026-03-01T12:30:00Z',
      event: 'regrade',
      reason: 'Regrade requested by ta-1',
      deadline: onTime,
    });
    const bob1 = await save('bob', 3, passing, { pushedAt: '2026-03-01T11:00:00Z', deadline: onTime });
    const bobLate = await save('bob', 4, flawed, {
      pushedAt: '2026-03-03T09:00:00Z',
      deadline: { status: 'not-accepted', deadline: '2026-03-02T00:00:00.000Z' },
    });
    await store.save(
      { repository: 'course-org/lab86-carol', commit: SHA(5), rubricId: 'lab-85', labId: 'lab-86' },
      passing,
      meta({ student: 'carol', lab: { id: 'lab-86', title: 'Lab 86' } }),
    );

    const overview = await store.labOverview({ labId: 'lab-85' });
    expect(overview.map((r) => r.key)).toEqual(['alice', 'bob']);
    const [alice, bob] = overview as [(typeof overview)[0], (typeof overview)[0]];
    expect(alice.latest.id).toBe(aliceRegrade.id);
    expect(alice.counting?.id).toBe(aliceRegrade.id);
    expect(alice.submissions).toBe(2);
    expect(alice.gradings).toBe(3);
    expect(alice.firstPushedAt).toBe('2026-03-01T10:00:00.000Z');
    // The generated columns mirror the report's criteria and findings.
    expect(alice.latest.criteria).toEqual(
      passing.criteria.map((c) => ({ id: c.id, points: c.points, maxPoints: c.maxPoints, status: c.status })),
    );
    expect(alice.latest.findingCount).toBe(passing.findings.length);
    // Bob's late push was not accepted: what counts is his on-time one.
    expect(bob.latest.id).toBe(bobLate.id);
    expect(bob.counting?.id).toBe(bob1.id);
    expect(bob.counting?.findingCount).toBe(passing.findings.length);

    expect(await store.labOverview({ labId: 'lab-85', by: 'owner' })).toEqual([
      expect.objectContaining({ key: 'course-org', submissions: 4, gradings: 5 }),
    ]);
    expect(await store.labOverview({ labId: 'lab-85', owner: 'someone-else' })).toEqual([]);

    const stats = await store.labStatistics([alice.counting!.id, bob.counting!.id, 'not-an-id']);
    const checkCount = passing.criteria.reduce((sum, c) => sum + c.checks.length, 0);
    expect(stats.checks.length).toBeGreaterThan(0);
    expect(stats.checks.length).toBeLessThanOrEqual(checkCount);
    for (const check of stats.checks) {
      const expected = passing.criteria.find((c) => c.id === check.criterion)!.checks.find((k) => k.id === check.id)!;
      expect(check.examined).toBe(expected.examined * 2);
      expect(check.passed).toBe(expected.passed * 2);
    }
    expect(stats.recoveries).toEqual([
      { drill: 'pod-kill', seconds: 12.5, gradingId: alice.counting!.id },
      { drill: 'pod-kill', seconds: 12.5, gradingId: bob.counting!.id },
    ]);
    expect(await store.labStatistics([])).toEqual({ checks: [], recoveries: [] });

    expect(await store.pushTimeline({ labId: 'lab-85' })).toEqual([
      { hour: '2026-03-01T10:00:00.000Z', pushes: 1, late: 0 },
      { hour: '2026-03-01T11:00:00.000Z', pushes: 1, late: 0 },
      { hour: '2026-03-01T12:00:00.000Z', pushes: 1, late: 0 },
      { hour: '2026-03-03T09:00:00.000Z', pushes: 1, late: 1 },
    ]);

    const aliceGradings = await store.gradingsOf({ key: 'Alice', labId: 'lab-85' });
    expect(aliceGradings.map((g) => g.id)).toEqual([aliceRegrade.id, alice2.id, alice1.id]);
    expect(aliceGradings[2]!.findingCount).toBe(flawed.findings.length);

    const regrades = await store.commitGradings({
      repository: 'Course-Org/lab85-alice',
      commit: SHA(2),
      labId: 'lab-85',
    });
    expect(regrades.map((g) => [g.id, g.gradeCount, g.reason])).toEqual([
      [alice2.id, 1, undefined],
      [aliceRegrade.id, 2, 'Regrade requested by ta-1'],
    ]);

    const byId = await store.getById(bob1.id);
    expect(byId?.report.score).toEqual(passing.score);
    expect(await store.getById('999999999')).toBeUndefined();
    expect(await store.getById('1; DROP TABLE reports')).toBeUndefined();

    expect(await store.labs()).toEqual([
      expect.objectContaining({ labId: 'lab-85', labTitle: 'Lab 85', students: 2, gradings: 5 }),
      expect.objectContaining({ labId: 'lab-86', labTitle: 'Lab 86', students: 1, gradings: 1 }),
    ]);

    const before = await store.labVersion('lab-85');
    const beforeAll = await store.labsVersion();
    const lab86 = await store.labVersion('lab-86');
    const bob6 = await save('bob', 6, passing, { pushedAt: '2026-03-01T13:00:00Z', deadline: onTime });
    const after = await store.labVersion('lab-85');
    expect(after).not.toBe(before);
    expect(await store.labsVersion()).not.toBe(beforeAll);
    expect(await store.labVersion('lab-86')).toBe(lab86);
    expect(await store.labVersion('no-such-lab')).toBe('0');
    // The same job saving again (a retry) replaces its row: the version moves too.
    await store.save(
      { repository: 'course-org/lab85-bob', commit: SHA(6), rubricId: 'lab-85', labId: 'lab-85' },
      passing,
      bob6.meta,
    );
    expect(await store.labVersion('lab-85')).not.toBe(after);
  });

  it('keeps source excerpts beside a grading (and keeps them when the job publishes again without)', async () => {
    const excerpts = {
      version: 1 as const,
      excerpts: [{ file: 'k8s/deployment.yaml', startLine: 4, lines: ['spec:', '  replicas: 1'] }],
      omitted: 0,
    };
    const key = { repository: 'course-org/lab85-dave', commit: SHA(7), rubricId: 'lab-85', labId: 'lab-85' };
    const m = meta({ student: 'dave' });
    const saved = await store.save(key, flawed, m, { excerpts });
    expect((await store.getById(saved.id))?.excerpts).toEqual(excerpts);
    await store.save(key, flawed, m);
    expect((await store.getById(saved.id))?.excerpts).toEqual(excerpts);
    const without = await store.save({ ...key, commit: SHA(8) }, flawed, meta({ student: 'dave' }));
    expect((await store.getById(without.id))?.excerpts).toBeUndefined();
    await expect(
      store.save({ ...key, commit: SHA(9) }, flawed, meta({ student: 'dave' }), {
        excerpts: { version: 2 } as never,
      }),
    ).rejects.toThrow(/invalid excerpts/);
  });

  it("titles a lab without a course by its rubric's title", async () => {
    await store.save(
      { repository: 'someone/lab', commit: SHA(10), rubricId: 'lab-85' },
      passing,
      meta({ lab: undefined as never }),
    );
    const lab = (await store.labs({ by: 'owner' })).find((l) => l.labId === 'lab-85');
    expect(lab?.rubricTitle).toBe(passing.rubric.title);
  });
});
