/**
 * The webhook's core, free of any HTTP framework: verify → route → enqueue,
 * from a delivery's headers and raw body to a status and a JSON body. The
 * express app (app.ts) is a thin adapter around it, the way
 * `@octokit/webhooks` separates its core from its Node middleware; the
 * benchmark and the tests can drive it directly.
 *
 * Checked in this order (the adapter answers 415 and 413 before the body is read):
 *   401 without a valid X-Hub-Signature-256 (HMAC-SHA256 of the raw body with
 *       the webhook secret, compared in constant time; the previous secret too while rotating);
 *   400 without X-GitHub-Event / X-GitHub-Delivery, or when the body is not JSON;
 *   422 when a graded event lacks a field we need (the message names it);
 *   200 ping; 202 queued / requeued / duplicate (with the job id) / ignored (with why);
 *   503 when Redis is unreachable: GitHub records a failed delivery, which the
 *       redelivery sweep (worker) or an operator redelivers once Redis is back.
 *
 * After a job is queued, its check run is created `queued` in the background
 * (never delaying the answer; see checks.ts).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  InvalidGradeJobError,
  QueueUnavailableError,
  type GradeJob,
  type GradeProducer,
  type ServiceMetrics,
} from '@labgrader/queue';
import type { Logger } from '@labgrader/core';
import type { CourseRouter } from './course.js';
import type { QueuedCheckRuns } from './checks.js';
import { routeGithubEvent } from './github.js';

export interface WebhookConfig {
  webhookSecret: string;
  previousWebhookSecrets: readonly string[];
  rubricId: string;
}

export interface WebhookDeps {
  config: WebhookConfig;
  producer: Pick<GradeProducer, 'enqueue'>;
  logger: Logger;
  /** Which lab a repository belongs to (the course configuration); default: every repository, `rubricId`. */
  course?: CourseRouter;
  /** Creates the check run `queued` after the answer; absent without GitHub App credentials. */
  checks?: QueuedCheckRuns;
  metrics?: ServiceMetrics;
  now?: () => Date;
}

export interface WebhookRequest {
  /** Lowercase header names, as Node gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
  /** For the log line and the metrics. */
  outcome: string;
}

export type WebhookHandler = (request: WebhookRequest) => Promise<WebhookResponse>;

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;
const DELIVERY = /^[A-Za-z0-9._-]{1,128}$/;

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * HMAC-SHA256 of the raw bytes, compared in constant time: what
 * `@octokit/webhooks-methods`' `verify` does, except that it takes the body
 * as a string (a UTF-8 copy of the bytes, encoded again for the HMAC, which
 * also changes a body that is not valid UTF-8) and hex strings. Tested
 * against its `sign`.
 */
export function verifySignature(secrets: readonly string[], body: Buffer, signature: string): boolean {
  if (!SIGNATURE.test(signature) || body.length === 0) return false;
  const given = Buffer.from(signature.slice('sha256='.length), 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // Every secret is tried (no early exit), so timing does not tell which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

export function createWebhookHandler(deps: WebhookDeps): WebhookHandler {
  const { config, producer, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const secrets = [config.webhookSecret, ...config.previousWebhookSecrets];
  const log = logger.child({ component: 'webhook' });

  return async function handle(request) {
    const started = performance.now();
    const event = header(request.headers, 'x-github-event');
    const deliveryId = header(request.headers, 'x-github-delivery');
    const reply = (
      status: number,
      body: Record<string, unknown>,
      outcome: string,
      extra: Record<string, unknown> = {},
    ): WebhookResponse => {
      const seconds = (performance.now() - started) / 1000;
      const fields = { delivery: deliveryId, event, status, outcome, ms: Math.round(seconds * 1000), ...extra };
      if (status >= 500) log.error('webhook', fields);
      else if (status >= 400) log.warn('webhook', fields);
      else log.info('webhook', fields);
      // Label values are bounded: unknown events are counted as 'other'.
      metrics?.deliveries.inc({ event: status === 401 ? 'unverified' : knownEvent(event), outcome });
      metrics?.webhookDuration.observe({ outcome }, seconds);
      return { status, body, outcome };
    };

    const signature = header(request.headers, 'x-hub-signature-256');
    if (!signature) return reply(401, { error: 'missing X-Hub-Signature-256 header' }, 'unsigned');
    if (!verifySignature(secrets, request.body, signature)) {
      return reply(401, { error: 'X-Hub-Signature-256 does not match the body' }, 'bad-signature');
    }
    if (!event) return reply(400, { error: 'missing X-GitHub-Event header' }, 'bad-request');
    if (!deliveryId || !DELIVERY.test(deliveryId)) {
      return reply(400, { error: 'missing or malformed X-GitHub-Delivery header' }, 'bad-request');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(request.body.toString('utf8'));
    } catch {
      return reply(400, { error: 'body is not valid JSON' }, 'bad-json');
    }

    const routed = routeGithubEvent(payload, { event, deliveryId, rubricId: config.rubricId, receivedAt: now() });
    switch (routed.action) {
      case 'pong':
        return reply(200, { status: 'pong' }, 'pong');
      case 'ignore':
        return reply(202, { status: 'ignored', reason: routed.reason }, 'ignored', { reason: routed.reason });
      case 'reject':
        return reply(
          422,
          { error: 'payload is missing fields labgrader needs', problems: routed.problems },
          'invalid-payload',
          {
            problems: routed.problems,
          },
        );
      case 'grade': {
        const [owner = '', name = ''] = routed.request.repository.fullName.split('/');
        const lab = deps.course?.route({ owner, name });
        if (lab && 'ignored' in lab) {
          return reply(202, { status: 'ignored', reason: lab.ignored }, 'ignored', {
            reason: lab.ignored,
            repository: routed.request.repository.fullName,
          });
        }
        const request = {
          ...routed.request,
          requestId: randomUUID(),
          ...(lab ? { rubricId: lab.rubricId, lab: lab.lab, ...(lab.student ? { student: lab.student } : {}) } : {}),
        };
        let result;
        try {
          result = await producer.enqueue(request, { force: routed.force });
        } catch (err) {
          if (err instanceof InvalidGradeJobError) {
            return reply(422, { error: 'payload cannot be graded', problems: err.problems }, 'invalid-payload', {
              problems: err.problems,
            });
          }
          if (err instanceof QueueUnavailableError) {
            return reply(503, { error: 'grading queue unavailable; redeliver later' }, 'queue-unavailable', {
              error: err,
            });
          }
          throw err;
        }
        if (result.status !== 'duplicate') deps.checks?.announce(result.job, result.jobId);
        return reply(202, { status: result.status, jobId: result.jobId }, result.status, {
          jobId: result.jobId,
          repository: result.job.repository.fullName,
          commit: result.job.commit,
          ...(result.job.lab ? { lab: result.job.lab.id } : {}),
          ...(result.superseded ? { superseded: result.superseded.jobId } : {}),
          ...(result.staleBehind ? { staleBehind: result.staleBehind.jobId } : {}),
        });
      }
    }
  };
}

const EVENTS = new Set([
  'push',
  'pull_request',
  'check_suite',
  'check_run',
  'ping',
  'installation',
  'installation_repositories',
]);
function knownEvent(event: string | undefined): string {
  return event && EVENTS.has(event) ? event : event ? 'other' : 'none';
}

export type { GradeJob };
