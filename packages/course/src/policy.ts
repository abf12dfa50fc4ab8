/**
 * Deadlines, late penalties, the pass mark, the cluster budget and when
 * cluster details are shown: pure functions of a lab and instants. Deadlines
 * are judged on GitHub's push time (the job's `pushedAt`), never on when a
 * worker got to the job.
 */
import { addLocalDays, formatInZone, instantOf, parseLocalDateTime, windowAround } from './time.js';
import type { Lab } from './types.js';

const MINUTE = 60_000;

export interface SubmissionJudgement {
  /** Pushed after the deadline and its grace period. */
  late: boolean;
  /** How long after the deadline (not counting the grace period's forgiveness), when late. */
  lateByMs?: number;
  /** Started days late: 1 until the deadline's wall-clock time the next day, and so on (0 when on time). */
  daysLate: number;
  /** Counts for the grade: on time, or late before the policy's cutoff. */
  accepted: boolean;
  /** Of `penaltyOf`; 100 when not accepted. */
  penaltyPercent: number;
  penaltyOf: 'max-points' | 'score';
  deadline?: Date;
  /** Said to the student, when late. */
  reason?: string;
}

function toInstant(value: Date | string | number, what: string): number {
  const t = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(t)) throw new RangeError(`${what} is not a valid date: ${JSON.stringify(String(value))}`);
  return t;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describeLateness(ms: number): string {
  const minutes = Math.ceil(ms / MINUTE);
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${plural(hours, 'hour')}${minutes % 60 ? ` ${plural(minutes % 60, 'minute')}` : ''}`;
  return `${plural(Math.floor(hours / 24), 'day')}${hours % 24 ? ` ${plural(hours % 24, 'hour')}` : ''}`;
}

/**
 * Started days late, by the calendar of the deadline's zone: day k ends at
 * the deadline's wall-clock time k days later (23 or 25 hours across a
 * daylight saving change).
 */
function startedDaysLate(lab: Lab, pushed: number): number {
  const deadline = lab.deadline!;
  const local = parseLocalDateTime(deadline.local)!;
  let k = Math.max(1, Math.floor((pushed - deadline.at.getTime()) / (24 * 60 * MINUTE)));
  const end = (n: number) => instantOf(addLocalDays(local, n), deadline.timeZone, 'later');
  while (k > 1 && pushed <= end(k - 1)) k--;
  while (pushed > end(k)) k++;
  return k;
}

/** Whether a push (at GitHub's push time) is late, by how much, and what it costs under the lab's policy. */
export function judgeSubmission(lab: Lab, pushedAt: Date | string | number): SubmissionJudgement {
  const pushed = toInstant(pushedAt, 'pushedAt');
  const policy = lab.latePolicy;
  const onTime: SubmissionJudgement = {
    late: false,
    daysLate: 0,
    accepted: true,
    penaltyPercent: 0,
    penaltyOf: policy.penaltyOf,
  };
  if (!lab.deadline) return onTime;
  const deadline = lab.deadline.at.getTime();
  if (pushed <= deadline + policy.graceMinutes * MINUTE) return { ...onTime, deadline: lab.deadline.at };

  const lateByMs = pushed - deadline;
  const daysLate = startedDaysLate(lab, pushed);
  const shownDeadline = formatInZone(deadline, lab.deadline.timeZone);
  const cutoff = policy.cutoff;
  const rejected =
    cutoff !== undefined &&
    ('maxDaysLate' in cutoff ? daysLate > cutoff.maxDaysLate : pushed > cutoff.acceptUntil.getTime());
  const base = { late: true, lateByMs, daysLate, penaltyOf: policy.penaltyOf, deadline: lab.deadline.at };
  if (rejected) {
    const limit =
      'maxDaysLate' in cutoff!
        ? cutoff.maxDaysLate === 0
          ? 'late pushes are not accepted'
          : `pushes more than ${plural(cutoff.maxDaysLate, 'day')} late are not accepted`
        : `pushes after ${formatInZone(cutoff!.acceptUntil.getTime(), lab.deadline.timeZone)} are not accepted`;
    return {
      ...base,
      accepted: false,
      penaltyPercent: 100,
      reason: `pushed ${describeLateness(lateByMs)} after the deadline (${shownDeadline}); ${limit}, so this push does not count`,
    };
  }
  const penaltyPercent = Math.min(
    policy.maxPenaltyPercent,
    policy.penaltyPercent + policy.penaltyPercentPerDay * daysLate,
  );
  const cost =
    penaltyPercent > 0
      ? `late penalty ${penaltyPercent}% of the ${policy.penaltyOf === 'max-points' ? 'maximum points' : 'points earned'}`
      : 'no late penalty';
  return {
    ...base,
    accepted: true,
    penaltyPercent,
    reason: `pushed ${describeLateness(lateByMs)} after the deadline (${shownDeadline}), ${plural(daysLate, 'started day')} late: ${cost}`,
  };
}

export interface LateAdjusted {
  /** What counts: after the penalty, 0 when not accepted. */
  points: number;
  /** As scored by the rubric. */
  rawPoints: number;
  maxPoints: number;
  penaltyPercent: number;
  penaltyPoints: number;
  accepted: boolean;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The points that count after the late penalty; the rubric's own score is kept as `rawPoints`. */
export function applyLatePolicy(points: number, maxPoints: number, judgement: SubmissionJudgement): LateAdjusted {
  const raw = round2(points);
  const penaltyPoints = !judgement.accepted
    ? raw
    : round2(
        Math.min(raw, ((judgement.penaltyOf === 'max-points' ? maxPoints : raw) * judgement.penaltyPercent) / 100),
      );
  return {
    points: round2(Math.max(0, raw - penaltyPoints)),
    rawPoints: raw,
    maxPoints,
    penaltyPercent: judgement.accepted ? judgement.penaltyPercent : 100,
    penaltyPoints,
    accepted: judgement.accepted,
  };
}

/**
 * Whether points pass the lab's pass mark; undefined when the lab has none.
 * Compared on the percentage as reports show it (one decimal).
 */
export function passes(lab: Lab, points: number, maxPoints: number): boolean | undefined {
  if (lab.passPercent === undefined) return undefined;
  const percent = maxPoints === 0 ? 0 : Math.round((points / maxPoints) * 1000) / 10;
  return percent >= lab.passPercent;
}

export type ClusterBudgetDecision =
  | {
      allowed: true;
      /** Runs left in this window after this one; null: unlimited. */
      remaining: number | null;
      /** When the window ends and the count starts again (absent when unlimited). */
      resetsAt?: Date;
    }
  | {
      allowed: false;
      /** When the cluster stage runs again: the first push from then on gets it. */
      nextAt: Date;
      used: number;
      limit: number;
      /** Said to the student in the report. */
      reason: string;
    };

const WINDOW_WORDS = { hour: 'this hour', day: 'today', week: 'this week' } as const;

/**
 * Whether this student's submission gets the cluster stage, given the times
 * of their previous cluster runs for this lab (the caller counts them from
 * the store) and `now` (pass the push time, so that queue delays do not move
 * runs between windows). Windows are calendar hours, days (midnight to
 * midnight) and weeks (from Monday) in the lab's time zone.
 */
export function clusterBudget(
  lab: Lab,
  previousClusterRuns: readonly (Date | string | number)[],
  now: Date | string | number,
): ClusterBudgetDecision {
  const budget = lab.clusterBudget;
  if (!budget) return { allowed: true, remaining: null };
  const at = toInstant(now, 'now');
  const { start, end } = windowAround(at, budget.per, lab.timeZone);
  const used = previousClusterRuns.filter((run) => {
    const t = toInstant(run, 'a previous cluster run');
    return t >= start && t < end;
  }).length;
  if (used < budget.runs) return { allowed: true, remaining: budget.runs - used - 1, resetsAt: new Date(end) };
  return {
    allowed: false,
    nextAt: new Date(end),
    used,
    limit: budget.runs,
    reason: `the cluster stage ran ${plural(used, 'time')} for you ${WINDOW_WORDS[budget.per]} (the limit is ${budget.runs} per ${budget.per}); lint and docs were checked, and the cluster stage runs again on a push from ${formatInZone(end, lab.timeZone)}`,
  };
}

/** Whether a student may see the cluster stage's details (findings, timings) at `now`. */
export function showClusterDetails(lab: Lab, now: Date | string | number): boolean {
  if (lab.showClusterDetails === 'always' || !lab.deadline) return true;
  return toInstant(now, 'now') > lab.deadline.at.getTime();
}
