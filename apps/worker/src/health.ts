/**
 * The worker's own small HTTP server (it has no other): liveness, readiness
 * and the Prometheus metrics, on HEALTH_PORT.
 *
 *   GET /healthz   200 while the worker is running (not shutting down), else 503
 *   GET /readyz    200 when Redis and PostgreSQL answer, else 503 naming which
 *   GET /metrics   Prometheus text format
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceMetrics } from '@labgrader/queue';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: {
  port: number;
  host?: string;
  live: () => boolean;
  ready: () => Promise<Record<string, boolean>>;
  metrics?: ServiceMetrics;
}): Promise<HealthServer> {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
    if (url === '/healthz') {
      const live = options.live();
      return json(res, live ? 200 : 503, { status: live ? 'ok' : 'stopping' });
    }
    if (url === '/readyz') {
      void options.ready().then(
        (checks) => {
          const ok = Object.values(checks).every(Boolean);
          json(res, ok ? 200 : 503, {
            status: ok ? 'ready' : 'unavailable',
            ...Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v ? 'ok' : 'unreachable'])),
          });
        },
        () => json(res, 503, { status: 'unavailable' }),
      );
      return;
    }
    if (url === '/metrics' && options.metrics) {
      void options.metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        () => json(res, 500, { error: 'metrics unavailable' }),
      );
      return;
    }
    json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
