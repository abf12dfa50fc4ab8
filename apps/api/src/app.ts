/**
 * The HTTP surface, on express: a thin adapter around the framework-free
 * webhook core (webhook.ts, through its Node listener node-middleware.ts),
 * plus the probes and the metrics.
 *
 *   POST /webhooks/github   415 unless Content-Type is application/json; 413 past the body
 *                           limit (read raw, never parsed before it is verified); then the core
 *   GET  /healthz           200 while the process runs
 *   GET  /readyz            200 when Redis answers, else 503
 *   GET  /metrics           Prometheus text format
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { GradeProducer, ServiceMetrics } from '@labgrader/queue';
import type { Logger } from '@labgrader/core';
import type { ApiConfig } from './config.js';
import type { CourseRouter } from './course.js';
import type { QueuedCheckRuns } from './checks.js';
import { webhookListener } from './node-middleware.js';
import { createWebhookHandler } from './webhook.js';

export interface ApiDeps {
  config: Pick<ApiConfig, 'webhookSecret' | 'previousWebhookSecrets' | 'rubricId' | 'bodyLimit'>;
  producer: Pick<GradeProducer, 'enqueue' | 'reachable'>;
  logger: Logger;
  course?: CourseRouter;
  checks?: QueuedCheckRuns;
  metrics?: ServiceMetrics;
  now?: () => Date;
}

/**
 * The server's request listener: webhook deliveries go straight to the Node listener (express's
 * router, request and response wrappers cost about a tenth of a delivery's CPU, bench/intake);
 * everything else, and the same route, through the express app.
 */
export function createRequestListener(deps: ApiDeps): NodeListener {
  const webhook = createWebhook(deps);
  const app = createApp(deps, webhook);
  return (req, res) => {
    if (req.method === 'POST' && (req.url === WEBHOOK_PATH || req.url?.startsWith(`${WEBHOOK_PATH}?`))) {
      webhook(req, res);
      return;
    }
    app(req, res);
  };
}

const WEBHOOK_PATH = '/webhooks/github';

type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

function createWebhook(deps: ApiDeps): NodeListener {
  return webhookListener(createWebhookHandler(deps), {
    bodyLimit: deps.config.bodyLimit,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}

export function createApp(deps: ApiDeps, webhook: NodeListener = createWebhook(deps)): express.Express {
  const { producer, logger, metrics } = deps;
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

  app.get('/metrics', async (_req, res) => {
    if (!metrics) {
      res.status(404).json({ error: 'metrics are not enabled' });
      return;
    }
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });

  app.post(WEBHOOK_PATH, (req, res) => webhook(req, res));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  // Body-parser and unexpected errors: a status and a short message, never a stack trace.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      log.warn('bad request', { status, type, path: req.path });
      res.status(status).json({ error: 'bad request' });
      return;
    }
    metrics?.errors.inc({ component: 'http', kind: 'unexpected' });
    log.error('request failed', { error: err, path: req.path });
    res.status(500).json({ error: 'internal error' });
  });

  return app;
}
