/**
 * From a verified GitHub delivery to a grading request: which events grade
 * what, with the fields we use validated (zod) and everything else ignored.
 *
 *  - ping: answered, nothing queued.
 *  - push to a branch: grade `after` (the new head). Branch deletions (zero
 *    SHA, `deleted: true`) and tags are ignored.
 *  - pull_request opened / synchronize / reopened: grade the head SHA.
 *  - check_suite / check_run rerequested ("Re-run" in the Checks tab): grade
 *    the head SHA again, even if it was graded (a forced job, reason "Re-run
 *    requested by <login>").
 *  - check_run requested_action `regrade` (the check run's "Regrade" button):
 *    the same, as a `regrade` with its reason; other actions are ignored.
 *  - anything else: acknowledged and ignored.
 *
 * The student's push time (`pushedAt`) comes from GitHub's clock, never from
 * the commit, whose dates the student controls. A payload whose clone_url is
 * not its repository's own (`…/<full_name>(.git)`, no credentials, no `..`)
 * is rejected like any other invalid field.
 */
import type { components } from '@octokit/openapi-webhooks-types';
import { z } from 'zod';
import { describeIssues, repositoryCloneUrlProblem, type GradeJobRequest } from '@labgrader/queue';

const ZERO_SHA = /^0+$/;
const SHA = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA');

const repository = z
  .object({
    id: z.number().int().positive(),
    full_name: z.string().min(3),
    clone_url: z.string().min(1),
    /** Unix seconds in push events, ISO 8601 elsewhere. */
    pushed_at: z.union([z.number(), z.string(), z.null()]).optional(),
  })
  .superRefine((repo, ctx) => {
    // GitHub always sends the repository's own URL; anything else is refused here, before it is queued.
    const problem = repositoryCloneUrlProblem(repo.clone_url, repo.full_name);
    if (problem) ctx.addIssue({ code: 'custom', path: ['clone_url'], message: problem });
  });
const installation = z.object({ id: z.number().int().positive() }).nullish();
const sender = z.object({ login: z.string().min(1) });

const pushPayload = z.object({
  ref: z.string().min(1),
  after: z.string(),
  deleted: z.boolean().optional(),
  repository,
  /** GitHub's types make `sender` optional on pushes; `pusher` is always there. */
  sender: sender.optional(),
  pusher: z.object({ name: z.string().min(1) }),
  installation,
});

const pullRequestPayload = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({ sha: SHA }),
    user: z.object({ login: z.string().min(1) }).nullable(),
    updated_at: z.string(),
  }),
  repository,
  sender,
  installation,
});

const checkSuitePayload = z.object({
  action: z.string(),
  check_suite: z.object({
    head_sha: SHA,
    head_branch: z.string().nullable(),
    created_at: z.string().nullable(),
  }),
  repository,
  sender,
  installation,
});

const checkRunPayload = z.object({
  action: z.string(),
  check_run: z.object({
    head_sha: SHA,
    check_suite: z.object({ head_branch: z.string().nullish(), created_at: z.string().nullish() }),
  }),
  requested_action: z.object({ identifier: z.string().optional() }).nullish(),
  repository,
  sender,
  installation,
});

/** The check run's action button that grades again (the GitHub edge creates it with this identifier). */
export const REGRADE_ACTION = 'regrade';

// Compile-time proof that GitHub's own payload types (@octokit/openapi-webhooks-types)
// satisfy what these schemas read: a renamed or re-typed field upstream breaks the build.
type Accepts<Schema extends z.ZodType, Payload> = Payload extends z.input<Schema> ? true : never;
type Schemas = components['schemas'];
const _payloadTypesMatch: [
  Accepts<typeof pushPayload, Schemas['webhook-push']>,
  Accepts<typeof pullRequestPayload, Schemas['webhook-pull-request-opened']>,
  Accepts<typeof pullRequestPayload, Schemas['webhook-pull-request-synchronize']>,
  Accepts<typeof pullRequestPayload, Schemas['webhook-pull-request-reopened']>,
  Accepts<typeof checkSuitePayload, Schemas['webhook-check-suite-rerequested']>,
  Accepts<typeof checkRunPayload, Schemas['webhook-check-run-rerequested']>,
  Accepts<typeof checkRunPayload, Schemas['webhook-check-run-requested-action']>,
] = [true, true, true, true, true, true, true];
void _payloadTypesMatch;

export type RoutedEvent =
  | { action: 'pong' }
  | { action: 'ignore'; reason: string }
  | { action: 'grade'; request: GradeJobRequest; force: boolean }
  | { action: 'reject'; problems: string[] };

export interface RouteContext {
  event: string;
  deliveryId: string;
  rubricId: string;
  /** When the delivery arrived: the push time when the payload has none. */
  receivedAt: Date;
}

const GRADED_PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function isoTime(value: number | string | null | undefined, fallback: Date): string {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString();
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  return fallback.toISOString();
}

function parse<S extends z.ZodType>(
  schema: S,
  payload: unknown,
  event: string,
): { ok: true; data: z.output<S> } | { ok: false; problems: string[] } {
  const result = schema.safeParse(payload);
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, problems: describeIssues(result.error, { prefix: `${event} payload` }) };
}

function base(
  repo: z.output<typeof repository>,
  ctx: RouteContext,
  inst: z.output<typeof installation>,
): Pick<GradeJobRequest, 'repository' | 'deliveryId' | 'rubricId' | 'installationId'> {
  return {
    repository: { fullName: repo.full_name, cloneUrl: repo.clone_url, id: repo.id },
    deliveryId: ctx.deliveryId,
    rubricId: ctx.rubricId,
    ...(inst ? { installationId: inst.id } : {}),
  };
}

export function routeGithubEvent(payload: unknown, ctx: RouteContext): RoutedEvent {
  switch (ctx.event) {
    case 'ping':
      return { action: 'pong' };

    case 'push': {
      const parsed = parse(pushPayload, payload, 'push');
      if (!parsed.ok) return { action: 'reject', problems: parsed.problems };
      const push = parsed.data;
      if (push.deleted || ZERO_SHA.test(push.after)) return { action: 'ignore', reason: `${push.ref} was deleted` };
      if (!push.ref.startsWith('refs/heads/')) return { action: 'ignore', reason: `${push.ref} is not a branch` };
      const sha = SHA.safeParse(push.after);
      if (!sha.success) return { action: 'reject', problems: ['push payload.after: must be a full commit SHA'] };
      return {
        action: 'grade',
        force: false,
        request: {
          ...base(push.repository, ctx, push.installation),
          commit: sha.data,
          ref: push.ref,
          event: 'push',
          author: push.sender?.login ?? push.pusher.name,
          requestedBy: push.sender?.login ?? push.pusher.name,
          pushedAt: isoTime(push.repository.pushed_at, ctx.receivedAt),
        },
      };
    }

    case 'pull_request': {
      const action = (payload as { action?: unknown } | null)?.action;
      if (typeof action === 'string' && !GRADED_PR_ACTIONS.has(action)) {
        return { action: 'ignore', reason: `pull_request '${action}' is not graded` };
      }
      const parsed = parse(pullRequestPayload, payload, 'pull_request');
      if (!parsed.ok) return { action: 'reject', problems: parsed.problems };
      const pr = parsed.data;
      return {
        action: 'grade',
        force: false,
        request: {
          ...base(pr.repository, ctx, pr.installation),
          commit: pr.pull_request.head.sha,
          ref: `refs/pull/${pr.number}/head`,
          event: 'pull_request',
          author: pr.pull_request.user?.login ?? pr.sender.login,
          requestedBy: pr.sender.login,
          pushedAt: isoTime(pr.pull_request.updated_at, ctx.receivedAt),
          pullRequest: pr.number,
        },
      };
    }

    case 'check_suite':
    case 'check_run': {
      const action = (payload as { action?: unknown } | null)?.action;
      const regrade = ctx.event === 'check_run' && action === 'requested_action';
      if (action !== 'rerequested' && !regrade) {
        return { action: 'ignore', reason: `${ctx.event} '${String(action)}' is not a re-run request` };
      }
      let head: { sha: string; branch: string | null | undefined; createdAt: string | null | undefined };
      let common: z.output<typeof checkSuitePayload> | z.output<typeof checkRunPayload>;
      if (ctx.event === 'check_suite') {
        const parsed = parse(checkSuitePayload, payload, 'check_suite');
        if (!parsed.ok) return { action: 'reject', problems: parsed.problems };
        common = parsed.data;
        const suite = parsed.data.check_suite;
        head = { sha: suite.head_sha, branch: suite.head_branch, createdAt: suite.created_at };
      } else {
        const parsed = parse(checkRunPayload, payload, 'check_run');
        if (!parsed.ok) return { action: 'reject', problems: parsed.problems };
        if (regrade && parsed.data.requested_action?.identifier !== REGRADE_ACTION) {
          const identifier = JSON.stringify(String(parsed.data.requested_action?.identifier ?? '')).slice(0, 80);
          return { action: 'ignore', reason: `check_run requested_action ${identifier} is not labgrader's regrade` };
        }
        common = parsed.data;
        const run = parsed.data.check_run;
        head = { sha: run.head_sha, branch: run.check_suite.head_branch, createdAt: run.check_suite.created_at };
      }
      return {
        action: 'grade',
        force: true,
        request: {
          ...base(common.repository, ctx, common.installation),
          commit: head.sha,
          ref: head.branch ? `refs/heads/${head.branch}` : head.sha,
          event: regrade ? 'regrade' : 'rerun',
          requestedBy: common.sender.login,
          reason: `${regrade ? 'Regrade' : 'Re-run'} requested by ${common.sender.login}`,
          // The suite was created when the commit was pushed; the store keeps the earliest push time anyway.
          pushedAt: isoTime(head.createdAt, ctx.receivedAt),
        },
      };
    }

    default:
      return { action: 'ignore', reason: `'${ctx.event}' events are not graded` };
  }
}
