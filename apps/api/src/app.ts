/**
 * The HTTP surface: GitHub's webhook endpoint and the health probes.
 *
 * POST /webhooks/github, in this order:
 *   415 unless Content-Type is application/json (configure the webhook so);
 *   413 past the body limit (read raw, never parsed before it is verified);
 *   401 without a valid X-Hub-Signature-256 (HMAC-SHA256 of the raw body with
 *       the webhook secret, compared in constant time);
 *   400 without X-GitHub-Event / X-GitHub-Delivery, or when the body is not JSON;
 *   422 when a graded event lacks a field we need (the message names it);
 *   200 ping; 202 queued / duplicate (with the job id) / ignored (with why);
 *   503 when Redis is unreachable: GitHub records a failed delivery, which can
 *       be redelivered once Redis is back.
 * The response is sent as soon as the job is in Redis; grading happens in the worker.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { verifyWithFallback } from '@octokit/webhooks-methods';
import { InvalidGradeJobError, QueueUnavailableError, type GradeProducer } from '@labgrader/queue';
import type { Logger } from '@labgrader/core';
import type { ApiConfig } from './config.js';
import { routeGithubEvent } from './github.js';

export interface ApiDeps {
  config: Pick<ApiConfig, 'webhookSecret' | 'previousWebhookSecrets' | 'rubricId' | 'bodyLimit'>;
  producer: Pick<GradeProducer, 'enqueue' | 'reachable'>;
  logger: Logger;
  now?: () => Date;
}

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;
const DELIVERY = /^[A-Za-z0-9._-]{1,128}$/;

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isJson(req: Request): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

export function createApp(deps: ApiDeps): express.Express {
  const { config, producer, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const log = logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const redis = await producer.reachable();
    res
      .status(redis ? 200 : 503)
      .json({ status: redis ? 'ready' : 'unavailable', redis: redis ? 'ok' : 'unreachable' });
  });

  app.post(
    '/webhooks/github',
    (req, res, next) => {
      if (isJson(req)) return next();
      res.locals.outcome = 'unsupported-content-type';
      res.status(415).json({
        error: 'Content-Type must be application/json (set the webhook content type to application/json)',
      });
    },
    express.raw({ type: () => true, limit: config.bodyLimit }),
    async (req, res) => {
      const started = performance.now();
      const event = header(req, 'x-github-event');
      const deliveryId = header(req, 'x-github-delivery');
      const requestLog = log.child({ delivery: deliveryId, event });
      const reply = (
        status: number,
        body: Record<string, unknown>,
        outcome: string,
        extra: Record<string, unknown> = {},
      ) => {
        res.status(status).json(body);
        const fields = { status, outcome, ms: Math.round(performance.now() - started), ...extra };
        if (status >= 500) requestLog.error('webhook', fields);
        else if (status >= 400) requestLog.warn('webhook', fields);
        else requestLog.info('webhook', fields);
      };

      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const signature = header(req, 'x-hub-signature-256');
      if (!signature) return reply(401, { error: 'missing X-Hub-Signature-256 header' }, 'unsigned');
      const valid =
        SIGNATURE.test(signature) &&
        body.length > 0 &&
        (await verifyWithFallback(
          config.webhookSecret,
          body.toString('utf8'),
          signature,
          config.previousWebhookSecrets,
        ));
      if (!valid) return reply(401, { error: 'X-Hub-Signature-256 does not match the body' }, 'bad-signature');

      if (!event) return reply(400, { error: 'missing X-GitHub-Event header' }, 'bad-request');
      if (!deliveryId || !DELIVERY.test(deliveryId)) {
        return reply(400, { error: 'missing or malformed X-GitHub-Delivery header' }, 'bad-request');
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8'));
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
        case 'grade':
          try {
            const result = await producer.enqueue(
              { ...routed.request, requestId: randomUUID() },
              { force: routed.force },
            );
            return reply(202, { status: result.status, jobId: result.jobId }, result.status, {
              jobId: result.jobId,
              repository: result.job.repository.fullName,
              commit: result.job.commit,
            });
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
      }
    },
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  // Body-parser and unexpected errors: a status and a short message, never a stack trace.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    const status = (err as { status?: unknown }).status;
    if (type === 'entity.too.large') {
      log.warn('webhook', { status: 413, outcome: 'too-large', delivery: header(req, 'x-github-delivery') });
      res.status(413).json({ error: `body larger than ${config.bodyLimit}` });
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      log.warn('bad request', { status, type, path: req.path });
      res.status(status).json({ error: 'bad request' });
      return;
    }
    log.error('request failed', { error: err, path: req.path });
    res.status(500).json({ error: 'internal error' });
  });

  return app;
}
