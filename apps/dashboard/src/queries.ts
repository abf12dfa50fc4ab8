/**
 * The read API's query parameters (zod: unknown or malformed parameters are a
 * 400 that says which), and what the overview and statistics compute from them.
 */
import { z } from 'zod';
import { LAB_ID_PATTERN } from '@labgrader/queue';
import type { DashboardStore, LabStatistics, PushBucket } from '@labgrader/store';
import type { Overview, OverviewRow } from './data.js';

/** A query or path parameter is not acceptable. */
export class BadRequestError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`bad request: ${problems.join('; ')}`);
    this.name = 'BadRequestError';
    this.problems = problems;
  }
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new BadRequestError(
    parsed.error.issues.map((i) => `${where}${i.path.length ? ` ${i.path.join('.')}` : ''}: ${i.message}`),
  );
}

export const labIdParam = z.string().regex(LAB_ID_PATTERN, 'must be a lab id such as lab-85');
export const gradingIdParam = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a grading id (a positive integer)');
export const studentParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,139}$/, 'must be a GitHub login (or owner/name without a course roster)');

export const SORT_KEYS = ['student', 'percent', 'points', 'submissions', 'pushedAt', 'findings', 'late'] as const;

export const overviewQuerySchema = z
  .object({
    sort: z.enum(SORT_KEYS).default('student'),
    order: z.enum(['asc', 'desc']).optional(),
    status: z.enum(['graded', 'not-gradable']).optional(),
    late: z.enum(['true', 'false']).optional(),
    /** Case-insensitive substring of the login, name or repository. */
    q: z.string().max(100, 'at most 100 characters').optional(),
    limit: z.coerce.number().int().min(1).max(500, 'at most 500 rows a page').default(100),
    /** `nextCursor` of the previous page. */
    cursor: z
      .string()
      .regex(/^[0-9]{1,6}$/, 'must be the nextCursor of the previous page')
      .optional(),
  })
  .strict();
export type OverviewQuery = z.output<typeof overviewQuerySchema>;

export const studentGradingsQuerySchema = z
  .object({
    lab: labIdParam.optional(),
    limit: z.coerce.number().int().min(1).max(500, 'at most 500 gradings').default(100),
  })
  .strict();

export const gradesCsvQuerySchema = z
  .object({
    /** `moodle` (default): labgrader's columns; `canvas`: Canvas's gradebook import (docs/dashboard.md). */
    format: z.enum(['moodle', 'canvas']).default('moodle'),
    /** The Canvas assignment's id, to fill an assignment that exists (else Canvas creates one). */
    canvasAssignment: z
      .string()
      .regex(/^[0-9]{1,18}$/, "must be the Canvas assignment's numeric id")
      .optional(),
  })
  .strict()
  .refine((q) => q.format === 'canvas' || q.canvasAssignment === undefined, {
    message: 'canvasAssignment goes with format=canvas',
    path: ['canvasAssignment'],
  });

export const diffQuerySchema = z.object({ from: gradingIdParam, to: gradingIdParam }).strict();
export const noQuerySchema = z.object({}).strict();

export interface OverviewPage {
  total: number;
  items: OverviewRow[];
  nextCursor?: string;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function queryOverview(overview: Overview, q: OverviewQuery): OverviewPage {
  const needle = q.q?.toLowerCase();
  let rows = overview.rows.filter(
    (r) =>
      (!q.status || r.status === q.status) &&
      (!q.late || r.late === (q.late === 'true')) &&
      (!needle ||
        r.student.includes(needle) ||
        r.repository.toLowerCase().includes(needle) ||
        (r.name ?? '').toLowerCase().includes(needle)),
  );
  const direction = (q.order ?? (q.sort === 'student' ? 'asc' : 'desc')) === 'asc' ? 1 : -1;
  const value = (r: OverviewRow): number | string => {
    switch (q.sort) {
      case 'student':
        return r.student;
      case 'percent':
        return r.percent;
      case 'points':
        return r.points;
      case 'submissions':
        return r.submissions;
      case 'pushedAt':
        return r.pushedAt;
      case 'findings':
        return r.findings;
      case 'late':
        return r.late ? 1 : 0;
    }
  };
  rows = [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : compareText(String(x), String(y));
    return c * direction || compareText(a.student, b.student);
  });
  const offset = q.cursor ? Number(q.cursor) : 0;
  const items = rows.slice(offset, offset + q.limit);
  return {
    total: rows.length,
    items,
    ...(offset + q.limit < rows.length ? { nextCursor: String(offset + q.limit) } : {}),
  };
}

export interface LabCharts {
  /** Percent of each student's counting grading. */
  scores: { student: string; percent: number }[];
  /** Per criterion: how many students passed, partly passed, failed it. */
  criteria: { id: string; passed: number; partial: number; failed: number; other: number }[];
  checks: LabStatistics['checks'];
  recoveries: LabStatistics['recoveries'];
  pushes: PushBucket[];
  deadline?: string;
}

export async function labCharts(
  store: DashboardStore,
  overview: Overview,
  by: 'student' | 'owner',
): Promise<LabCharts> {
  const graded = overview.rows.filter((r) => r.status === 'graded');
  const [stats, pushes] = await Promise.all([
    store.labStatistics(graded.map((r) => r.gradingId)),
    store.pushTimeline({ labId: overview.lab.id, by }),
  ]);
  const criteria = overview.criteria.map((c) => {
    const tally = { id: c.id, passed: 0, partial: 0, failed: 0, other: 0 };
    for (const r of graded) {
      const s = r.criteria.find((x) => x.id === c.id)?.status;
      if (s === 'passed') tally.passed += 1;
      else if (s === 'partial') tally.partial += 1;
      else if (s === 'failed') tally.failed += 1;
      else tally.other += 1;
    }
    return tally;
  });
  return {
    scores: graded.map((r) => ({ student: r.student, percent: r.percent })),
    criteria,
    checks: stats.checks,
    recoveries: stats.recoveries,
    pushes,
    ...(overview.lab.deadline ? { deadline: overview.lab.deadline } : {}),
  };
}
