/**
 * The grading job: what the API puts on the queue and the worker takes off it.
 *
 * This is a contract between two deployables that are upgraded separately, so
 * it is versioned: compatible changes add optional fields; anything else bumps
 * `schemaVersion`, and a worker rejects (without retrying) a version it does
 * not know.
 */
import { z } from 'zod';
import { cloneUrlProblem, repositoryCloneUrlProblem } from './clone-url.js';
import { describeIssues } from './issues.js';

export const GRADE_JOB_SCHEMA_VERSION = 1;

/** A bundled or configured rubric id; never a path. */
export const RUBRIC_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/** GitHub delivery ids are GUIDs; anything used in a job id must be free of ':'. */
const DELIVERY_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * push / pull_request: a student pushed. rerun: GitHub's "Re-run" (check suite or
 * check run `rerequested`). regrade: the check run's "Regrade" button (`requested_action`).
 */
export const gradeEventSchema = z.enum(['push', 'pull_request', 'rerun', 'regrade']);
export type GradeEvent = z.infer<typeof gradeEventSchema>;

/** No credentials, no `..`, no query, one of the protocols…: see clone-url.ts. */
const cloneUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = cloneUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * The repository to grade, whose clone URL must be its own (its path ends in
 * /<owner>/<name>(.git)); which hosts and directories are acceptable is each
 * worker's CLONE_URL_ALLOW.
 */
const repositorySchema = z
  .object({
    /** `owner/name` as GitHub spells it. The owner is the course organisation. */
    fullName: z.string().regex(REPOSITORY, 'must be owner/name'),
    cloneUrl: cloneUrlSchema,
    /** GitHub's numeric repository id (stable across renames), when known. */
    id: z.number().int().positive().optional(),
  })
  .superRefine((repo, ctx) => {
    if (!REPOSITORY.test(repo.fullName) || cloneUrlProblem(repo.cloneUrl)) return; // reported above
    const problem = repositoryCloneUrlProblem(repo.cloneUrl, repo.fullName);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cloneUrl'], message: problem });
  });

/** Lab ids are course-chosen slugs (`lab-85`); like rubric ids, never paths. */
export const LAB_ID_PATTERN = RUBRIC_ID_PATTERN;

/** The lab a repository was routed to (course configuration), as the worker and the check run need it. */
export const gradeJobLabSchema = z
  .object({
    id: z.string().regex(LAB_ID_PATTERN, 'must be a lab id such as lab-85'),
    /** Shown in the check run's name and the PR comment. */
    title: z.string().min(1).max(200),
    /** Percent of the graded maximum at or above which the check run succeeds; none: no pass mark. */
    passPercent: z.number().min(0).max(100).optional(),
  })
  .strict();
export type GradeJobLab = z.infer<typeof gradeJobLabSchema>;

export const gradeJobSchema = z
  .object({
    schemaVersion: z.literal(GRADE_JOB_SCHEMA_VERSION),
    repository: repositorySchema,
    /** Full commit SHA to grade. */
    commit: z.string().regex(FULL_SHA, 'must be a full lowercase hex commit SHA'),
    /** What was pushed: `refs/heads/<branch>`, `refs/pull/<n>/head`. */
    ref: z.string().min(1).max(512),
    event: gradeEventSchema,
    /** X-GitHub-Delivery of the webhook that caused the job (or an operator-chosen id). */
    deliveryId: z.string().regex(DELIVERY_ID, 'must be 1-128 characters of A-Z a-z 0-9 . _ -'),
    /** Id of the enqueue request: correlates API and worker logs; tells a duplicate add apart. */
    requestId: z.string().min(1).max(128),
    /** GitHub login of the student: the pusher, or the pull request's author. Unknown for reruns. */
    author: z.string().min(1).max(100).optional(),
    /** GitHub login of whoever triggered this grade (the pusher, or who clicked "Re-run"). */
    requestedBy: z.string().min(1).max(100).optional(),
    /** When the student pushed (GitHub's time, not the commit's, which the student controls). ISO 8601. */
    pushedAt: z.iso.datetime({ offset: true }),
    /** GitHub App installation, to mint a clone token and report back (later). */
    installationId: z.number().int().positive().optional(),
    /** Pull request number, for pull_request events (the PR comment publisher needs it). */
    pullRequest: z.number().int().positive().optional(),
    rubricId: z.string().regex(RUBRIC_ID_PATTERN, 'must be a rubric id such as lab-85 (lowercase letters, digits, -)'),
    /** Grade even when a report for this commit and rubric exists (re-run requests, operator regrades). */
    force: z.boolean().optional(),
    /** The lab (course configuration); absent from jobs queued before labs existed: the rubric is the lab. */
    lab: gradeJobLabSchema.optional(),
    /** Who the submission counts for (the course's routing: repository pattern → student); default the author. */
    student: z.string().min(1).max(100).optional(),
    /** Why a forced job grades again ("Regrade requested by alice"): kept with the grading in the history. */
    reason: z.string().min(1).max(500).optional(),
  })
  .strict();

export type GradeJob = z.infer<typeof gradeJobSchema>;
/** What a producer supplies; the queue fills in the version and the request id. */
export type GradeJobRequest = Omit<GradeJob, 'schemaVersion' | 'requestId'> & { requestId?: string };

/** The job's return value, kept by BullMQ with the completed job (small: the report lives in the store). */
export interface GradeJobResult {
  /** `superseded`: a newer push to the same branch or pull request replaced this job before it finished. */
  outcome: 'graded' | 'not-gradable' | 'already-graded' | 'superseded';
  /** For `superseded`: the job and commit that replaced it. */
  supersededBy?: { jobId: string; commit: string };
  status?: 'graded' | 'not-gradable';
  points?: number;
  maxPoints?: number;
  percent?: number;
  notGradableReason?: string;
}

export class InvalidGradeJobError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid grading job: ${problems.join('; ')}`);
    this.name = 'InvalidGradeJobError';
    this.problems = problems;
  }
}

/** Validates job data taken off the queue (or about to be put on it). */
export function parseGradeJob(data: unknown): GradeJob {
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== GRADE_JOB_SCHEMA_VERSION) {
    throw new InvalidGradeJobError([
      `schemaVersion: this build understands version ${GRADE_JOB_SCHEMA_VERSION}, got ${JSON.stringify(version ?? null)}`,
    ]);
  }
  const parsed = gradeJobSchema.safeParse(data);
  if (!parsed.success) throw new InvalidGradeJobError(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Deterministic job id: one job per (repository, commit, rubric), so a
 * redelivered webhook, a push of the same SHA to a second branch, and the
 * pull_request event for a commit that was just pushed all collapse into one
 * grading. Repository names are case-insensitive on GitHub, hence lowercased.
 *
 * A forced regrade (re-run requested) gets its own id derived from the
 * delivery that asked for it, so it runs even though the original job is
 * still retained, while a redelivery of that same re-run request is still
 * deduplicated. BullMQ ids must not contain ':' nor be integers.
 *
 *   codertocat/hello-world@6113728f27ae82c7b1a177c8d03f9e96e0adf246#lab-85
 *   codertocat/hello-world@6113728f27ae82c7b1a177c8d03f9e96e0adf246#lab-85!rerun-72d3162e-cc78-11e3-81ab-4c9367dc0958
 */
export function gradeJobId(
  job: Pick<GradeJob, 'repository' | 'commit' | 'rubricId' | 'deliveryId'> & { lab?: Pick<GradeJobLab, 'id'> },
  options: { force?: boolean } = {},
): string {
  const base = `${job.repository.fullName.toLowerCase()}@${job.commit}#${labKey(job)}`;
  return options.force ? `${base}!rerun-${job.deliveryId}` : base;
}

/** What a job is graded as: its lab, or (no course configuration) its rubric. */
export function labKey(job: Pick<GradeJob, 'rubricId'> & { lab?: Pick<GradeJobLab, 'id'> }): string {
  return job.lab?.id ?? job.rubricId;
}

/**
 * The line of submissions a job belongs to, for superseding: a newer push to
 * the same branch (or pull request) of the same repository, graded as the
 * same lab, replaces the older job. Forced jobs (re-runs, regrades) are asked
 * for explicitly and belong to none.
 *
 *   codertocat/hello-world:refs/heads/main#lab-85
 */
export function gradeJobStream(
  job: Pick<GradeJob, 'repository' | 'ref' | 'rubricId' | 'event' | 'force'> & {
    lab?: Pick<GradeJobLab, 'id'>;
  },
): string | undefined {
  if (job.force || (job.event !== 'push' && job.event !== 'pull_request')) return undefined;
  return `${job.repository.fullName.toLowerCase()}:${job.ref}#${labKey(job)}`;
}
