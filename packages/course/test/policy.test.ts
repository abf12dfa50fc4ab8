import { describe, expect, it } from '@jest/globals';
import {
  applyLatePolicy,
  clusterBudget,
  judgeSubmission,
  parseCourseConfig,
  passes,
  showClusterDetails,
  type Lab,
} from '@labgrader/course';

/** One lab from a few lines of YAML (indented under `- id: lab`). */
function lab(lines: string): Lab {
  const course = parseCourseConfig(
    `apiVersion: labgrader.dev/v1
kind: Course
id: c
organization: o
timeZone: Europe/Paris
instructors: [p]
labs:
  - id: lab
${lines
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`,
    'course.yaml',
  );
  return course.labs[0]!;
}

describe('judgeSubmission', () => {
  // Paris: the clocks go forward in the night of 27 to 28 March 2027, so the
  // first late day after a deadline on the 27th is 23 hours long.
  const spring = lab(`
deadline: 2027-03-27T23:59
latePolicy: { graceMinutes: 15, penaltyPercentPerDay: 10, maxDaysLate: 3 }`);

  it.each([
    // pushed at (GitHub's time), late, started days late, accepted, penalty
    ['2027-03-27T22:00:00Z', false, 0, true, 0], // 23:00 CET
    ['2027-03-27T22:59:00Z', false, 0, true, 0], // the deadline itself
    ['2027-03-27T23:14:00Z', false, 0, true, 0], // within the grace period
    ['2027-03-27T23:14:01Z', true, 1, true, 10],
    ['2027-03-28T21:59:00Z', true, 1, true, 10], // 23:59 CEST: the end of the first (23-hour) late day
    ['2027-03-28T22:30:00Z', true, 2, true, 20], // 23.5 h after the deadline is already the second day
    ['2027-03-30T21:59:00Z', true, 3, true, 30],
    ['2027-03-30T21:59:01Z', true, 4, false, 100], // more than 3 days late
    ['2027-06-01T00:00:00Z', true, 66, false, 100],
  ])('a push at %s: late %s, day %s, accepted %s, penalty %s%%', (pushedAt, late, daysLate, accepted, penalty) => {
    const j = judgeSubmission(spring, new Date(pushedAt));
    expect({ late: j.late, daysLate: j.daysLate, accepted: j.accepted, penaltyPercent: j.penaltyPercent }).toEqual({
      late,
      daysLate,
      accepted,
      penaltyPercent: penalty,
    });
    if (late) expect(j.lateByMs).toBe(Date.parse(pushedAt) - Date.parse('2027-03-27T22:59:00Z'));
    else expect(j.lateByMs).toBeUndefined();
  });

  it('counts a 25-hour day as one when the clocks go back', () => {
    const autumn = lab(`
deadline: 2027-10-30T23:59
latePolicy: { penaltyPercentPerDay: 10 }`);
    // 23:59 CEST is 21:59Z; 23:59 CET the next day is 22:59Z, 25 hours later.
    expect(judgeSubmission(autumn, '2027-10-31T22:30:00Z')).toMatchObject({ daysLate: 1, penaltyPercent: 10 });
    expect(judgeSubmission(autumn, '2027-10-31T22:59:00Z')).toMatchObject({ daysLate: 1, penaltyPercent: 10 });
    expect(judgeSubmission(autumn, '2027-10-31T23:00:00Z')).toMatchObject({ daysLate: 2, penaltyPercent: 20 });
  });

  it('says what happened, in the deadline zone', () => {
    expect(judgeSubmission(spring, '2027-03-28T22:30:00Z')).toEqual({
      late: true,
      lateByMs: 84_660_000,
      daysLate: 2,
      accepted: true,
      penaltyPercent: 20,
      penaltyOf: 'max-points',
      deadline: new Date('2027-03-27T22:59:00Z'),
      reason:
        'pushed 23 hours 31 minutes after the deadline (2027-03-27 23:59 Europe/Paris), 2 started days late: late penalty 20% of the maximum points',
    });
    expect(judgeSubmission(spring, '2027-04-02T10:00:00Z').reason).toBe(
      'pushed 5 days 11 hours after the deadline (2027-03-27 23:59 Europe/Paris); pushes more than 3 days late are not accepted, so this push does not count',
    );
  });

  it.each([
    // policy, pushed at, accepted, penalty
    ['accept', '2027-05-01T00:00:00Z', true, 0],
    ['reject', '2027-03-27T22:59:00Z', true, 0],
    ['reject', '2027-03-27T22:59:01Z', false, 100],
    ['{ graceMinutes: 10, maxDaysLate: 0 }', '2027-03-27T23:09:00Z', true, 0],
    ['{ graceMinutes: 10, maxDaysLate: 0 }', '2027-03-27T23:10:00Z', false, 100],
    ['{ penaltyPercent: 25 }', '2027-03-27T23:00:00Z', true, 25],
    ['{ penaltyPercent: 5, penaltyPercentPerDay: 20, maxPenaltyPercent: 50 }', '2027-03-28T12:00:00Z', true, 25],
    ['{ penaltyPercent: 5, penaltyPercentPerDay: 20, maxPenaltyPercent: 50 }', '2027-04-10T12:00:00Z', true, 50],
    ['{ penaltyPercent: 10, acceptUntil: 2027-03-29T12:00 }', '2027-03-29T10:00:00Z', true, 10], // 12:00 CEST
    ['{ penaltyPercent: 10, acceptUntil: 2027-03-29T12:00 }', '2027-03-29T10:00:01Z', false, 100],
    ['{ acceptUntil: 2027-03-29T12:00Z }', '2027-03-29T11:59:00Z', true, 0],
  ])('latePolicy %s, a push at %s: accepted %s, penalty %s%%', (policy, pushedAt, accepted, penalty) => {
    const j = judgeSubmission(lab(`deadline: 2027-03-27T23:59\nlatePolicy: ${policy}`), pushedAt);
    expect({ accepted: j.accepted, penaltyPercent: j.penaltyPercent }).toEqual({ accepted, penaltyPercent: penalty });
  });

  it('never calls anything late without a deadline, and refuses a push time that is not a date', () => {
    const open = lab('title: open');
    expect(judgeSubmission(open, '2030-01-01T00:00:00Z')).toEqual({
      late: false,
      daysLate: 0,
      accepted: true,
      penaltyPercent: 0,
      penaltyOf: 'max-points',
    });
    expect(() => judgeSubmission(spring, 'yesterday')).toThrow(RangeError);
    expect(() => judgeSubmission(spring, new Date(Number.NaN))).toThrow('pushedAt is not a valid date');
  });
});

describe('applyLatePolicy and passes', () => {
  const judged = (penaltyPercent: number, penaltyOf: 'max-points' | 'score', accepted = true) => ({
    late: penaltyPercent > 0,
    daysLate: 1,
    accepted,
    penaltyPercent,
    penaltyOf,
  });

  it.each([
    // points, max, penalty, of, accepted → points that count, penalty points
    [80, 100, 0, 'max-points', true, 80, 0],
    [80, 100, 10, 'max-points', true, 70, 10],
    [5, 100, 10, 'max-points', true, 0, 5], // never below zero
    [80, 100, 10, 'score', true, 72, 8],
    [33.33, 50, 15, 'score', true, 28.33, 5],
    [80, 100, 100, 'max-points', false, 0, 80],
  ] as const)('%s/%s with %s%% of %s (accepted %s) → %s', (points, max, penalty, of, accepted, counted, lost) => {
    expect(applyLatePolicy(points, max, judged(penalty, of, accepted))).toEqual({
      points: counted,
      rawPoints: points,
      maxPoints: max,
      penaltyPercent: penalty,
      penaltyPoints: lost,
      accepted,
    });
  });

  it.each([
    [50, 100, true],
    [49.96, 100, true], // shown as 50.0%
    [49.94, 100, false],
    [0, 0, false],
  ])('%s/%s passes a 50%% mark: %s', (points, max, expected) => {
    expect(passes(lab('passPercent: 50'), points, max)).toBe(expected);
  });

  it('has no opinion without a pass mark', () => {
    expect(passes(lab('title: t'), 0, 100)).toBeUndefined();
  });
});

describe('clusterBudget', () => {
  const daily = lab('clusterBudget: { runs: 5, per: day }');
  const times = (...iso: string[]) => iso.map((t) => new Date(t));

  it.each([
    // previous runs, now, decision
    [[], '2027-03-10T12:00:00Z', { allowed: true, remaining: 4, resetsAt: new Date('2027-03-10T23:00:00Z') }],
    [
      times('2027-03-10T08:00:00Z', '2027-03-10T09:00:00Z', '2027-03-10T10:00:00Z', '2027-03-10T11:00:00Z'),
      '2027-03-10T12:00:00Z',
      { allowed: true, remaining: 0, resetsAt: new Date('2027-03-10T23:00:00Z') },
    ],
    // Yesterday's runs (before midnight in Paris, 23:00Z) do not count.
    [
      times(
        '2027-03-09T22:59:59Z',
        '2027-03-09T22:00:00Z',
        '2027-03-09T21:00:00Z',
        '2027-03-09T20:00:00Z',
        '2027-03-09T19:00:00Z',
      ),
      '2027-03-10T00:30:00Z',
      { allowed: true, remaining: 4, resetsAt: new Date('2027-03-10T23:00:00Z') },
    ],
  ])('%j at %s', (runs, now, expected) => {
    expect(clusterBudget(daily, runs, now)).toEqual(expected);
  });

  it('says when the cluster stage runs next, at local midnight, also on the day the clocks go forward', () => {
    // 28 March 2027 in Paris starts at 23:00Z on the 27th and ends at 22:00Z (a 23-hour day).
    const runs = times(
      '2027-03-27T23:30:00Z',
      '2027-03-28T06:00:00Z',
      '2027-03-28T07:00:00Z',
      '2027-03-28T08:00:00Z',
      '2027-03-28T09:00:00Z',
    );
    expect(clusterBudget(daily, runs, '2027-03-28T21:30:00Z')).toEqual({
      allowed: false,
      nextAt: new Date('2027-03-28T22:00:00Z'),
      used: 5,
      limit: 5,
      reason:
        'the cluster stage ran 5 times for you today (the limit is 5 per day); lint and docs were checked, and the cluster stage runs again on a push from 2027-03-29 00:00 Europe/Paris',
    });
    // Just after midnight the count starts again.
    expect(clusterBudget(daily, runs, '2027-03-28T22:00:00Z')).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('windows hours and weeks in the lab zone', () => {
    const hourly = lab('clusterBudget: { runs: 1, per: hour }');
    expect(clusterBudget(hourly, ['2027-03-10T12:05:00Z'], '2027-03-10T12:55:00Z')).toMatchObject({
      allowed: false,
      nextAt: new Date('2027-03-10T13:00:00Z'),
      reason: expect.stringContaining('ran 1 time for you this hour (the limit is 1 per hour)'),
    });
    const weekly = lab('clusterBudget: { runs: 2, per: week }\ntimeZone: America/New_York');
    // Sunday 14 March 2027 (the clocks go forward in New York); the week started on Monday the 8th.
    expect(
      clusterBudget(weekly, ['2027-03-08T05:00:00Z', '2027-03-12T12:00:00Z'], '2027-03-14T12:00:00Z'),
    ).toMatchObject({
      allowed: false,
      nextAt: new Date('2027-03-15T04:00:00Z'), // Monday 00:00 EDT
      reason: expect.stringContaining('runs again on a push from 2027-03-15 00:00 America/New_York'),
    });
    expect(clusterBudget(weekly, ['2027-03-08T04:59:59Z'], '2027-03-14T12:00:00Z')).toMatchObject({
      allowed: true,
      remaining: 1,
    });
  });

  it('is unlimited without a budget', () => {
    expect(clusterBudget(lab('title: t'), times('2027-03-10T12:00:00Z'), '2027-03-10T12:00:01Z')).toEqual({
      allowed: true,
      remaining: null,
    });
  });
});

describe('showClusterDetails', () => {
  it.each([
    ['always', '2027-03-01T00:00:00Z', true],
    ['after-deadline', '2027-03-27T22:58:59Z', false],
    ['after-deadline', '2027-03-27T22:59:00Z', false],
    ['after-deadline', '2027-03-27T22:59:01Z', true],
  ])('%s at %s: %s', (setting, now, expected) => {
    expect(showClusterDetails(lab(`deadline: 2027-03-27T23:59\nshowClusterDetails: ${setting}`), now)).toBe(expected);
  });
});
