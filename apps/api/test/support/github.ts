/* eslint-disable @typescript-eslint/no-explicit-any -- tests edit GitHub payloads freely, as plain JSON */
/**
 * GitHub's own example payloads (@octokit/webhooks-examples) and a client
 * that delivers them the way GitHub does: raw JSON body, X-GitHub-Event,
 * X-GitHub-Delivery and an X-Hub-Signature-256 computed with the secret.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { sign } from '@octokit/webhooks-methods';

interface ExampleSet {
  name: string;
  examples: Array<Record<string, unknown>>;
}

const require = createRequire(import.meta.url);
const ALL = require('@octokit/webhooks-examples') as ExampleSet[];

/** Every example payload of an event, optionally only those with this action; deep copies. */
export function examples(event: string, action?: string): Array<Record<string, any>> {
  const set = ALL.find((e) => e.name === event);
  if (!set) throw new Error(`no examples for '${event}'`);
  return set.examples
    .filter((e) => action === undefined || e.action === action)
    .map((e) => structuredClone(e) as Record<string, any>);
}

/** The example push to a branch (refs/heads/master), from a GitHub App installation. */
export function branchPushExample(): Record<string, any> {
  const push = examples('push').find((p) => p.ref === 'refs/heads/master' && p.installation && !p.deleted);
  if (!push) throw new Error('no branch push example');
  return push;
}

export interface Delivery {
  event?: string;
  payload?: unknown;
  /** Raw body, instead of JSON.stringify(payload). */
  body?: string | Buffer;
  secret?: string;
  /** Override or remove (undefined) headers. */
  headers?: Record<string, string | undefined>;
  deliveryId?: string;
}

export interface DeliveryResponse {
  status: number;
  body: Record<string, any>;
  deliveryId: string;
}

export interface TestServer {
  url: string;
  deliver(delivery: Delivery): Promise<DeliveryResponse>;
  get(path: string): Promise<{ status: number; body: Record<string, any> }>;
  close(): Promise<void>;
}

/** Serves `app` (the express app, or the server's request listener as main.ts uses it) on loopback. */
export async function listen(app: RequestListener, secret: string): Promise<TestServer> {
  const server: Server = await new Promise((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async deliver(d) {
      const body = d.body ?? JSON.stringify(d.payload);
      const deliveryId = d.deliveryId ?? randomUUID();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/test',
        'x-github-event': d.event ?? 'push',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': await sign(d.secret ?? secret, typeof body === 'string' ? body : body.toString('utf8')),
      };
      for (const [k, v] of Object.entries(d.headers ?? {})) {
        if (v === undefined) delete headers[k];
        else headers[k] = v;
      }
      const res = await fetch(`${url}/webhooks/github`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {}, deliveryId };
    },
    async get(path) {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
