/**
 * The graded report: the one output of the pipeline. Every front end (CLI
 * formats, GitHub check run, PR comment, dashboard) renders this structure.
 *
 * Versioning: `schemaVersion` is bumped on any incompatible change (a field
 * removed, renamed or re-typed); adding optional fields is compatible. The
 * JSON Schema in `docs/report.schema.json` is generated from these zod schemas
 * (`npm run schema`), and a test fails if it is stale.
 */
import { z } from 'zod';
import { evidenceSchema, findingSchema } from './findings.js';

export const REPORT_SCHEMA_VERSION = 1;
export const REPORT_SCHEMA_ID = 'https://labgrader.dev/schemas/report/v1.json';

export const stageNameSchema = z.enum(['fetch', 'docs', 'lint', 'cluster', 'score']);
export type StageName = z.infer<typeof stageNameSchema>;

/**
 * How a stage ended.
 *  - ok: it ran and produced its results (the student may still have lost points).
 *  - skipped: the rubric or the caller turned it off (e.g. `--cluster none`).
 *  - not-gradable: the submission cannot be graded by this stage (no manifests, cluster down).
 *  - failed: an internal or infrastructure error; retry.
 *  - timed-out: it exceeded its time budget.
 */
export const stageStatusSchema = z.enum(['ok', 'skipped', 'not-gradable', 'failed', 'timed-out']);
export type StageStatus = z.infer<typeof stageStatusSchema>;

export const stageResultSchema = z.object({
  name: stageNameSchema,
  status: stageStatusSchema,
  startedAt: z.string().describe('ISO 8601 timestamp'),
  durationMs: z.number().min(0),
  /** Time budget the stage had, from the rubric. */
  budgetMs: z.number().min(0).optional(),
  message: z.string().optional(),
});
export type StageResult = z.infer<typeof stageResultSchema>;

export const submissionSchema = z.object({
  /** Where it came from: a local directory, a git URL, or a GitHub event. */
  source: z.enum(['directory', 'git', 'github']),
  /** `owner/name` for GitHub, the URL for git (credentials removed), the directory name otherwise. */
  repository: z.string(),
  /** Full commit SHA graded, when known. */
  commit: z.string().optional(),
  /** Branch, tag or PR ref as requested. */
  ref: z.string().optional(),
  /** True when a local directory had uncommitted changes. */
  dirty: z.boolean().optional(),
  /** Who pushed (GitHub login), when known. */
  author: z.string().optional(),
  /** When the student submitted (push time), ISO 8601. */
  submittedAt: z.string().optional(),
});
export type Submission = z.infer<typeof submissionSchema>;

export const checkSummarySchema = z.object({
  id: z.string(),
  /** Subjects examined; 0 means the check did not apply. */
  examined: z.number().int().min(0),
  passed: z.number().int().min(0),
  findings: z.number().int().min(0),
  weight: z.number().min(0),
  /** Credit in [0, 1] when the check grades finer than whole subjects (e.g. recovery-time bands). */
  score: z.number().min(0).max(1).optional(),
  /** What the check measured, in one line (e.g. "recovered in 4.2 s: ≤ 30 s band, full credit"). */
  summary: z.string().optional(),
  /** Set when the check could not run (labgrader bug or its stage did not run). */
  error: z.string().optional(),
});
export type CheckSummary = z.infer<typeof checkSummarySchema>;

/**
 *  - passed: full points; partial: some; failed: none.
 *  - skipped: its stage did not run by choice; not counted in the total.
 *  - not-gradable: its stage could not grade it; not counted, the report says why.
 */
export const criterionStatusSchema = z.enum(['passed', 'partial', 'failed', 'skipped', 'not-gradable']);
export type CriterionStatus = z.infer<typeof criterionStatusSchema>;

export const criterionResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().optional(),
  stage: z.enum(['docs', 'lint', 'cluster']),
  points: z.number().min(0),
  maxPoints: z.number().min(0),
  status: criterionStatusSchema,
  checks: z.array(checkSummarySchema),
  /** One line explaining the score (e.g. "3 of 4 containers set limits"). */
  summary: z.string(),
});
export type CriterionResult = z.infer<typeof criterionResultSchema>;

export const reportFindingSchema = findingSchema.extend({
  /** Criteria whose score this finding affected. */
  criteria: z.array(z.string()),
});
export type ReportFinding = z.infer<typeof reportFindingSchema>;

export const reportSchema = z.object({
  $schema: z.literal(REPORT_SCHEMA_ID),
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  tool: z.object({ name: z.literal('labgrader'), version: z.string() }),
  submission: submissionSchema,
  rubric: z.object({
    id: z.string(),
    title: z.string(),
    /** sha256 of the rubric file: regrades with a changed rubric are visible. */
    digest: z.string(),
  }),
  /** graded: a score was computed. not-gradable: see `notGradable`; the score is not a grade. */
  status: z.enum(['graded', 'not-gradable']),
  notGradable: z.object({ reason: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
  score: z.object({
    points: z.number().min(0),
    /** Sum of max points of the criteria that were graded (skipped ones excluded). */
    maxPoints: z.number().min(0),
    percent: z.number().min(0).max(100),
    /** Sum of max points of every criterion in the rubric. */
    rubricMaxPoints: z.number().min(0),
  }),
  criteria: z.array(criterionResultSchema),
  findings: z.array(reportFindingSchema),
  evidence: z.array(evidenceSchema),
  stages: z.array(stageResultSchema),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().min(0),
});
export type Report = z.infer<typeof reportSchema>;

/** The published JSON Schema (draft 2020-12) of the JSON report, generated from the zod schema. */
export function reportJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(reportSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: REPORT_SCHEMA_ID,
    title: 'labgrader report',
    description: `A graded report produced by labgrader (schemaVersion ${REPORT_SCHEMA_VERSION}). Compatible changes add optional fields; incompatible changes bump schemaVersion and the $id.`,
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  };
}

/**
 * The report without the cluster stage's details (findings, evidence, per-check summaries); scores unchanged.
 * What students see before the deadline of a lab with `showClusterDetails: after-deadline` (check runs, PR
 * comments, the dashboard); the store keeps the whole report.
 */
export function withoutClusterDetails(report: Report): Report {
  const cluster = report.criteria.filter((c) => c.stage === 'cluster');
  if (cluster.length === 0) return report;
  const clusterCriteria = new Set(cluster.map((c) => c.id));
  const graded = new Set(cluster.flatMap((c) => c.checks.map((k) => k.id)));
  // Also what the stage reports under a check the rubric does not grade (a root cause, its evidence).
  const clusterChecks = { has: (id: string) => graded.has(id) || id.startsWith('cluster/') };
  const note = 'details are shown after the deadline';
  return {
    ...report,
    criteria: report.criteria.map((c) =>
      c.stage === 'cluster'
        ? { ...c, summary: note, checks: c.checks.map(({ summary: _summary, ...k }) => ({ ...k })) }
        : c,
    ),
    findings: report.findings.filter(
      (f) =>
        !(f.criteria.length > 0 && f.criteria.every((id) => clusterCriteria.has(id))) && !clusterChecks.has(f.checkId),
    ),
    evidence: report.evidence.filter((e) => !clusterChecks.has(e.checkId)),
  };
}
