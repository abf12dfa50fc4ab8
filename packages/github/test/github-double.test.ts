/**
 * The GitHub double refuses what GitHub refuses, on its own (raw HTTP, no
 * octokit): an unknown route, a body that does not match GitHub's OpenAPI
 * description or its unwritten rules, a JWT GitHub would not take, an
 * expired or out-of-scope installation token. Each refusal is also a
 * recorded violation, which is what makes tests using the double fail.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startGithubDouble, type GithubDouble, type IssuedToken } from '../../../test/support/github-double.js';

let double: GithubDouble;
const SHA = '0123456789abcdef0123456789abcdef01234567';

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function jwt(claims: Record<string, unknown>, key: string = double.privateKey, alg = 'RS256'): string {
  const head = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(head).sign(key);
  return `${head}.${b64url(signature)}`;
}

function appJwt(overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt({ iat: now - 30, exp: now + 540, iss: String(double.appId), ...overrides });
}

async function call(
  method: string,
  path: string,
  options: { auth?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> & { message?: string } }> {
  const response = await fetch(`${double.apiUrl}${path}`, {
    method,
    headers: {
      'user-agent': 'labgrader-double-test',
      accept: 'application/vnd.github+json',
      ...(options.auth ? { authorization: options.auth } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function mint(body: Record<string, unknown> = {}): Promise<IssuedToken> {
  const r = await call('POST', '/app/installations/1/access_tokens', { auth: `Bearer ${appJwt()}`, body });
  expect(r.status).toBe(201);
  return double.issuedTokens.find((t) => t.token === r.body.token)!;
}

function kinds(): string[] {
  return double.takeViolations().map((v) => `${v.kind} ${v.status}`);
}

beforeAll(async () => {
  double = await startGithubDouble();
  double.addRepository({ id: 1, fullName: 'course/lab', private: true });
  double.addRepository({ id: 2, fullName: 'course/other', private: true });
  double.addInstallation({
    id: 1,
    account: 'course',
    permissions: { checks: 'write', contents: 'read', metadata: 'read' },
    repositorySelection: 'all',
    repositoryIds: [],
  });
});

afterAll(async () => {
  await double.close();
});

describe('routes', () => {
  test('a route GitHub does not have, or one the double does not implement, is a 404 and a violation', async () => {
    expect((await call('GET', '/no/such/route')).status).toBe(404);
    expect(kinds()).toEqual(['unknown-route 404']);
    const token = await mint();
    expect((await call('GET', '/repos/course/lab/pulls', { auth: `token ${token.token}` })).status).toBe(404);
    expect(kinds()).toEqual(['not-implemented 404']);
  });

  test('a request without a User-Agent is refused, as GitHub does', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${double.apiUrl}/app`, { headers: { authorization: `Bearer ${appJwt()}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(kinds()).toEqual(['invalid-request 403']);
  });
});

describe('the App JWT', () => {
  test('a valid one is accepted', async () => {
    const r = await call('GET', '/app', { auth: `Bearer ${appJwt()}` });
    expect(r.status).toBe(200);
    expect(r.body.slug).toBe(double.appSlug);
    expect(kinds()).toEqual([]);
  });

  test.each([
    ['signed with another key', () => jwt({ iat: 0, exp: 0, iss: '1' }, otherKey())],
    ['not RS256', () => jwt({ iss: String(double.appId) }, double.privateKey, 'HS256')],
    ['another App', () => appJwt({ iss: '1' })],
    ['issued in the future', () => appJwt({ iat: Math.floor(Date.now() / 1000) + 120 })],
    ['expired', () => appJwt({ exp: Math.floor(Date.now() / 1000) - 1 })],
    ['more than 10 minutes ahead', () => appJwt({ exp: Math.floor(Date.now() / 1000) + 700 })],
    ['garbage', () => 'a.b.c'],
  ])('one %s is refused with 401', async (_what, make) => {
    const r = await call('GET', '/app', { auth: `Bearer ${make()}` });
    expect(r.status).toBe(401);
    expect(kinds()).toEqual(['unauthenticated 401']);
  });

  test('an installation token is no App JWT, and a JWT is no installation token', async () => {
    const token = await mint();
    expect((await call('GET', '/app/hook/deliveries', { auth: `token ${token.token}` })).status).toBe(401);
    expect(kinds()).toEqual(['unauthenticated 401']);
    expect(
      (await call('GET', `/repos/course/lab/commits/${SHA}/check-runs`, { auth: `Bearer ${appJwt()}` })).status,
    ).toBe(403);
    expect(kinds()).toEqual(['forbidden 403']);
  });
});

let otherKeyPem: string | undefined;
function otherKey(): string {
  otherKeyPem ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return otherKeyPem;
}

describe('installation tokens', () => {
  test('scoped on request; a permission or repository the installation lacks is refused', async () => {
    const scoped = await mint({ repository_ids: [1], permissions: { contents: 'read' } });
    expect(scoped).toMatchObject({ repositoryIds: [1], permissions: { contents: 'read', metadata: 'read' } });
    expect(
      (
        await call('POST', '/app/installations/1/access_tokens', {
          auth: `Bearer ${appJwt()}`,
          body: { permissions: { issues: 'write' } },
        })
      ).status,
    ).toBe(422);
    expect(kinds()).toEqual(['invalid-request 422']);
    expect(
      (
        await call('POST', '/app/installations/1/access_tokens', {
          auth: `Bearer ${appJwt()}`,
          body: { repositories: ['nope'] },
        })
      ).status,
    ).toBe(422);
    expect(kinds()).toEqual(['invalid-request 422']);
    expect((await call('POST', '/app/installations/9/access_tokens', { auth: `Bearer ${appJwt()}` })).status).toBe(404);
    expect(kinds()).toEqual(['not-found 404']);
  });

  test('used outside its repository, its permissions or its lifetime, it is refused', async () => {
    const contentsOnly = await mint({ repository_ids: [1], permissions: { contents: 'read' } });
    const checks = await mint({ repository_ids: [1], permissions: { checks: 'write' } });
    const list = (token: IssuedToken, repo = 'lab') =>
      call('GET', `/repos/course/${repo}/commits/${SHA}/check-runs`, { auth: `token ${token.token}` });
    expect((await list(checks)).status).toBe(200);
    expect((await list(contentsOnly)).status).toBe(403);
    expect(kinds()).toEqual(['forbidden 403']);
    expect((await list(checks, 'other')).status).toBe(404);
    expect(kinds()).toEqual(['not-found 404']);
    checks.expiresAt = Date.now() - 1;
    expect((await list(checks)).status).toBe(401);
    expect(kinds()).toEqual(['unauthenticated 401']);
    expect((await call('GET', `/repos/course/lab/commits/${SHA}/check-runs`)).status).toBe(401);
    expect(kinds()).toEqual(['unauthenticated 401']);
  });
});

describe('check runs', () => {
  let token: IssuedToken;
  beforeAll(async () => {
    token = await mint({ repository_ids: [1], permissions: { checks: 'write' } });
  });
  const create = (body: Record<string, unknown>) =>
    call('POST', '/repos/course/lab/check-runs', { auth: `token ${token.token}`, body });
  const annotation = (overrides: Record<string, unknown> = {}) => ({
    path: 'k8s/a.yaml',
    start_line: 1,
    end_line: 1,
    annotation_level: 'warning',
    message: 'm',
    ...overrides,
  });

  test('a valid one is created, and annotations are appended on update', async () => {
    const r = await create({
      name: 'n',
      head_sha: SHA,
      output: { title: 't', summary: 's', annotations: [annotation()] },
    });
    expect(r.status).toBe(201);
    const id = r.body.id as number;
    const u = await call('PATCH', `/repos/course/lab/check-runs/${id}`, {
      auth: `token ${token.token}`,
      body: {
        status: 'completed',
        conclusion: 'success',
        output: { title: 't', summary: 's', annotations: [annotation()] },
      },
    });
    expect(u.status).toBe(200);
    expect((u.body.output as { annotations_count: number }).annotations_count).toBe(2);
    expect(kinds()).toEqual([]);
  });

  test.each([
    [
      'an annotation level GitHub does not know',
      { output: { title: 't', summary: 's', annotations: [annotation({ annotation_level: 'error' })] } },
    ],
    [
      '51 annotations in one request',
      { output: { title: 't', summary: 's', annotations: Array.from({ length: 51 }, () => annotation()) } },
    ],
    ['an output without a summary', { output: { title: 't' } }],
    ['completed without a conclusion', { status: 'completed' }],
    [
      'an annotation title over 255 characters',
      { output: { title: 't', summary: 's', annotations: [annotation({ title: 'x'.repeat(256) })] } },
    ],
    [
      'columns on a multi-line annotation',
      {
        output: {
          title: 't',
          summary: 's',
          annotations: [annotation({ end_line: 2, start_column: 1, end_column: 2 })],
        },
      },
    ],
    ['a summary over 65,535 characters', { output: { title: 't', summary: 'x'.repeat(65_536) } }],
    ['an action label over 20 characters', { actions: [{ label: 'x'.repeat(21), description: 'd', identifier: 'i' }] }],
    ['a commit the repository does not have', { head_sha: 'nope' }],
  ])('%s is refused with 422', async (_what, body) => {
    const r = await create({ name: 'n', head_sha: SHA, ...body });
    expect(r.status).toBe(422);
    expect(kinds()).toEqual(['invalid-request 422']);
  });

  test('an injected failure is GitHub failing, not a violation', async () => {
    double.failNext('checks/create', { status: 502 });
    expect((await create({ name: 'n', head_sha: SHA })).status).toBe(502);
    expect((await create({ name: 'n', head_sha: SHA })).status).toBe(201);
    expect(kinds()).toEqual([]);
  });
});
