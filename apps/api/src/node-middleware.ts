/**
 * The webhook core as a plain Node.js request listener (node:http), the way
 * `@octokit/webhooks` offers `createNodeMiddleware` beside its core: the
 * content type is checked before the body is read, the body is read raw up to
 * the limit (413 past it, the rest is not read), and the core's answer is
 * written as JSON. The express app mounts it for POST /webhooks/github, so the
 * hot path uses none of express's request or response helpers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceMetrics } from '@labgrader/queue';
import type { Logger } from '@labgrader/core';
import type { WebhookHandler } from './webhook.js';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** `2mb` → bytes (the WEBHOOK_BODY_LIMIT syntax). */
export function parseBodyLimit(limit: string): number {
  const m = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!m) throw new RangeError(`not a size: ${limit}`);
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type) return false;
  const semi = type.indexOf(';');
  return (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads the body up to `limit` bytes; resolves undefined (and stops reading) past it. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

export function webhookListener(
  handle: WebhookHandler,
  options: { bodyLimit: string; logger: Logger; metrics?: ServiceMetrics },
): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = parseBodyLimit(options.bodyLimit);
  const log = options.logger.child({ component: 'http' });
  return (req, res) => {
    if (!isJson(req)) {
      options.metrics?.deliveries.inc({ event: 'unverified', outcome: 'unsupported-content-type' });
      return sendJson(res, 415, {
        error: 'Content-Type must be application/json (set the webhook content type to application/json)',
      });
    }
    readBody(req, limit)
      .then(
        async (body) => {
          if (!body) {
            options.metrics?.deliveries.inc({ event: 'unverified', outcome: 'too-large' });
            log.warn('webhook', { status: 413, outcome: 'too-large', delivery: req.headers['x-github-delivery'] });
            res.setHeader('connection', 'close');
            return sendJson(res, 413, { error: `body larger than ${options.bodyLimit}` });
          }
          const answer = await handle({ headers: req.headers, body });
          sendJson(res, answer.status, answer.body);
        },
        (err: unknown) => {
          options.metrics?.errors.inc({ component: 'http', kind: 'body' });
          log.warn('bad request', { status: 400, error: err });
          sendJson(res, 400, { error: 'bad request' });
        },
      )
      .catch((err: unknown) => {
        options.metrics?.errors.inc({ component: 'http', kind: 'unexpected' });
        log.error('request failed', { error: err, path: '/webhooks/github' });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
  };
}
