/**
 * A GitHub double on loopback for tests of everything that talks to GitHub:
 * real HTTP servers on 127.0.0.1 (the REST API on one port, the web and git
 * host on another, as api.github.com and github.com are), with in-memory
 * state, that refuses what GitHub would refuse.
 *
 * Every API request is checked against GitHub's own OpenAPI description
 * (@octokit/openapi's api.github.com.json) with openapi-backend + ajv:
 * the route and method must exist, path and query parameters and the JSON
 * body must match their schemas. On top of the schema it applies the rules
 * GitHub enforces but does not describe (JWT claims, token expiry and scope,
 * permissions, annotation limits, `conclusion` with `completed`, the head SHA
 * must exist…). Responses are built from the description's own examples and
 * validated against their schemas too, so code under test never reads a
 * field GitHub would not send.
 *
 * Authentication as GitHub does it:
 *  - App endpoints take an App JWT: RS256, signed with the test's key,
 *    `iss` the App id, `iat` not in the future, `exp` in the future and at
 *    most 10 minutes after `iat` and from now;
 *  - repository endpoints take an installation token: known, not expired
 *    (by the double's clock, which a test can move), of an active
 *    installation, granted the repository and the permission the endpoint
 *    needs;
 *  - "Sign in with GitHub" (the web application flow): the web host's
 *    `GET /login/oauth/authorize` approves as the user a test chose with
 *    `signInAs` and redirects back with a one-time code (10 minutes, bound to
 *    the client and redirect_uri); `POST /login/oauth/access_token` checks the
 *    client secret and answers as GitHub does (HTTP 200 with `error` for a bad
 *    code); `GET /user` on the API takes that user token;
 *  - git over smart HTTP (`git http-backend`, CGI) on the web host: a private
 *    repository needs Basic `x-access-token:<installation token>` with
 *    `contents: read` on it.
 *
 * Anything GitHub would reject (an unknown route, an invalid request, bad
 * auth) is answered with GitHub's status and error body AND recorded in
 * `violations`: a test asserts it is empty (or takes the violations it
 * provoked on purpose). Failures a test injects (`failNext`) and rate-limit
 * answers are GitHub behaving as GitHub does, not violations.
 *
 *   const double = await startGithubDouble();
 *   double.seedFromWebhook(webhookExample('push'), { bareDir });   // repository + installation
 *   const app = createGithubApp(loadGithubAppConfig(double.env())!, { writeIntervalMs: 0, retryUnitMs: 1 });
 *   …
 *   afterEach(() => expect(double.takeViolations()).toEqual([]));
 *   afterAll(() => double.close());
 */
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Types

export type Permission = 'read' | 'write';

export interface DoubleRepository {
  id: number;
  /** `owner/name`. */
  fullName: string;
  private: boolean;
  /** A bare repository on disk, served over smart HTTP at `<webUrl>/<fullName>.git`; head SHAs are checked in it. */
  bareDir?: string;
}

export interface DoubleInstallation {
  id: number;
  /** The account (organisation) login it is installed on. */
  account: string;
  /** What the installation granted the App. */
  permissions: Record<string, Permission>;
  /** `all` repositories of the account, or only `repositoryIds`. */
  repositorySelection: 'all' | 'selected';
  repositoryIds: number[];
  suspended?: boolean;
}

export interface IssuedToken {
  token: string;
  installationId: number;
  /** The repositories it is good for; undefined for all of the installation's. */
  repositoryIds: number[] | undefined;
  permissions: Record<string, Permission>;
  /** Epoch ms, by the double's clock. */
  expiresAt: number;
}

export type ViolationKind =
  | 'unknown-route'
  | 'not-implemented'
  | 'invalid-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'git'
  | 'invalid-response';

export interface Violation {
  kind: ViolationKind;
  method: string;
  /** The path without the query (it never holds a token). */
  path: string;
  status: number;
  message: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  operationId: string | undefined;
  status: number;
  auth: 'jwt' | 'installation' | 'user' | 'none' | 'invalid';
  /** The installation token's permissions, for token-authenticated requests. */
  tokenPermissions?: Record<string, Permission>;
  body: unknown;
}

export interface GitRequest {
  repository: string;
  service: string;
  status: number;
  /** The token the request was authenticated with, if any. */
  token?: string;
}

export interface CheckRunState {
  id: number;
  repositoryId: number;
  name: string;
  headSha: string;
  externalId: string;
  detailsUrl: string | null;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: Record<string, unknown>[];
  actions: { label: string; description: string; identifier: string }[];
  appId: number;
}

export interface CommentState {
  id: number;
  repositoryId: number;
  issueNumber: number;
  body: string;
  user: { login: string; id: number; type: 'User' | 'Bot' };
  /** The App that wrote it, for comments made with an installation token. */
  appId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryState {
  id: number;
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  duration: number;
  status: string;
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
}

export interface InjectedFailure {
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many requests fail (default 1). */
  times?: number;
  /** Let this many requests through first (default 0). */
  skip?: number;
}

export interface DoubleUser {
  id: number;
  login: string;
  name?: string;
}

/** An OAuth authorization code handed to the redirect_uri, until it is exchanged once. */
interface OAuthCode {
  code: string;
  scopes: string[];
  login: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
}

export interface GithubDoubleOptions {
  appId?: number;
  appSlug?: string;
  /** The double's clock (token expiry, timestamps); default the real one. JWT checks always use the real clock. */
  now?: () => number;
  /** Lifetime of new installation tokens (GitHub: one hour). */
  tokenLifetimeMs?: number;
}

// ---------------------------------------------------------------------------
// GitHub's OpenAPI description, loaded once per test file

type Json = Record<string, unknown>;

let backendPromise: Promise<{ api: OpenAPIBackend; examples: Record<string, { value: unknown }> }> | undefined;

function openApiDescription(): Promise<{ api: OpenAPIBackend; examples: Record<string, { value: unknown }> }> {
  backendPromise ??= (async () => {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    const document = JSON.parse(readFileSync(file, 'utf8')) as Document & { components: { examples: Json } };
    const examples = structuredClone(document.components.examples) as Record<string, { value: unknown }>;
    allowNullInNullableEnums(document);
    const addFormats = (await import('ajv-formats')).default as unknown as (ajv: unknown) => unknown;
    const api = new OpenAPIBackend({
      definition: document,
      quick: true, // validators are compiled on first use, for the few operations a test calls
      validate: true,
      coerceTypes: true, // path and query parameters arrive as strings
      ajvOpts: { strict: false, logger: false, allErrors: true },
      customizeAjv: (ajv) => {
        addFormats(ajv);
        return ajv;
      },
    });
    await api.init();
    return { api, examples };
  })();
  return backendPromise;
}

/**
 * OpenAPI 3.0 `nullable: true` next to an `enum` means null is allowed (GitHub sends `"conclusion": null`), but
 * JSON Schema validators check the enum first; null is added to such enums.
 */
function allowNullInNullableEnums(node: unknown, seen = new Set<unknown>()): void {
  if (!node || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  const schema = node as { nullable?: unknown; enum?: unknown[] };
  if (schema.nullable === true && Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
  for (const value of Object.values(node)) allowNullInNullableEnums(value, seen);
}

// ---------------------------------------------------------------------------
// Helpers

const JSON_TYPE = 'application/json; charset=utf-8';

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function base64url(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function satisfies(granted: Permission | undefined, needed: Permission): boolean {
  return granted === 'write' || (granted === 'read' && needed === 'read');
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly kind?: ViolationKind,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const fail = (status: number, message: string, kind?: ViolationKind, headers?: Record<string, string>) =>
  new HttpFailure(status, message, kind, headers);

interface RequestContext {
  method: string;
  path: string;
  query: Record<string, string>;
  params: Record<string, string>;
  body: Json;
  now: number;
  token?: IssuedToken;
  /** The user a user access token (OAuth) belongs to, lowercased. */
  userLogin?: string;
  userScopes?: string[];
}

type Handler = (ctx: RequestContext) => { status: number; body?: unknown; headers?: Record<string, string> };

// ---------------------------------------------------------------------------
// The double

export class GithubDouble {
  readonly appId: number;
  readonly appSlug: string;
  /** PKCS#1 PEM, as GitHub hands out App keys. */
  readonly privateKey: string;
  readonly publicKey: KeyObject;
  apiUrl = '';
  webUrl = '';
  tokenLifetimeMs: number;
  /** Status of the attempts `POST …/attempts` creates. */
  redeliveryOutcome: { status: string; statusCode: number } = { status: 'OK', statusCode: 200 };
  /** Remaining primary rate limit per installation (App JWT calls: key 0). */
  rateLimitRemaining = new Map<number, number>();

  readonly violations: Violation[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly gitRequests: GitRequest[] = [];
  readonly issuedTokens: IssuedToken[] = [];
  readonly repositories = new Map<number, DoubleRepository>();
  readonly installations = new Map<number, DoubleInstallation>();
  readonly pullRequests = new Set<string>();
  readonly checkRuns: CheckRunState[] = [];
  readonly comments: CommentState[] = [];
  readonly deliveries: DeliveryState[] = [];
  readonly redelivered: number[] = [];
  /** The OAuth App credentials (the GitHub App's "client id" and a client secret). */
  readonly oauthClientId: string;
  readonly oauthClientSecret: string;
  readonly users = new Map<string, DoubleUser>();
  /** User access tokens the OAuth flow issued, with whose they are. */
  readonly userTokens = new Map<string, string>();
  /** Scopes granted to each user token (the `scope` the authorization asked for). */
  readonly userTokenScopes = new Map<string, string[]>();
  /** Organisation teams (`org/slug`, lowercased) and their members' lowercased logins. */
  readonly teams = new Map<string, Set<string>>();
  private readonly oauthCodes: OAuthCode[] = [];
  /** Who approves the next `/login/oauth/authorize` (lowercased login); unset: the sign-in page, no redirect. */
  private signedInUser: string | undefined;

  private readonly now: () => number;
  private readonly failures = new Map<string, InjectedFailure[]>();
  private nextId = 1000;
  private apiServer: Server | undefined;
  private webServer: Server | undefined;
  private api!: OpenAPIBackend;
  private examples!: Record<string, { value: unknown }>;
  private readonly handlers: Record<string, Handler>;

  constructor(options: GithubDoubleOptions = {}) {
    this.appId = options.appId ?? 4242;
    this.appSlug = options.appSlug ?? 'labgrader-test';
    this.now = options.now ?? (() => Date.now());
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 60 * 60_000;
    this.oauthClientId = `Iv1.${randomBytes(8).toString('hex')}`;
    this.oauthClientSecret = randomBytes(20).toString('hex');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    this.privateKey = privateKey;
    this.publicKey = createPublicKey(publicKey);
    this.handlers = {
      'apps/get-authenticated': () => ({ status: 200, body: this.integration() }),
      'apps/create-installation-access-token': (ctx) => this.createToken(ctx),
      'apps/revoke-installation-access-token': (ctx) => this.revokeToken(ctx),
      'apps/list-webhook-deliveries': (ctx) => this.listDeliveries(ctx),
      'apps/redeliver-webhook-delivery': (ctx) => this.redeliver(ctx),
      'checks/list-for-ref': (ctx) => this.listCheckRuns(ctx),
      'checks/create': (ctx) => this.createCheckRun(ctx),
      'checks/update': (ctx) => this.updateCheckRun(ctx),
      'checks/get': (ctx) => ({ status: 200, body: this.checkRunJson(this.checkRun(ctx)) }),
      'checks/list-annotations': (ctx) => this.listAnnotations(ctx),
      'issues/list-comments': (ctx) => this.listComments(ctx),
      'issues/create-comment': (ctx) => this.createComment(ctx),
      'issues/update-comment': (ctx) => this.updateComment(ctx),
      'issues/delete-comment': (ctx) => this.deleteComment(ctx),
      'users/get-authenticated': (ctx) => this.authenticatedUser(ctx),
      'teams/list-for-authenticated-user': (ctx) => this.userTeams(ctx),
    };
  }

  /** Which permission each implemented repository endpoint needs (App endpoints need the JWT instead). */
  private static readonly NEEDS: Record<
    string,
    [string | [string, string], Permission] | 'jwt' | 'user' | 'installation'
  > = {
    'users/get-authenticated': 'user',
    'apps/revoke-installation-access-token': 'installation',
    'teams/list-for-authenticated-user': 'user',
    'apps/get-authenticated': 'jwt',
    'apps/create-installation-access-token': 'jwt',
    'apps/list-webhook-deliveries': 'jwt',
    'apps/redeliver-webhook-delivery': 'jwt',
    'checks/list-for-ref': ['checks', 'read'],
    'checks/get': ['checks', 'read'],
    'checks/list-annotations': ['checks', 'read'],
    'checks/create': ['checks', 'write'],
    'checks/update': ['checks', 'write'],
    // Comments on a pull request: the pull requests or the issues permission.
    'issues/list-comments': [['pull_requests', 'issues'], 'read'],
    'issues/create-comment': [['pull_requests', 'issues'], 'write'],
    'issues/update-comment': [['pull_requests', 'issues'], 'write'],
    'issues/delete-comment': [['pull_requests', 'issues'], 'write'],
  };

  async start(): Promise<this> {
    const { api, examples } = await openApiDescription();
    this.api = api;
    this.examples = examples;
    this.apiServer = createServer((req, res) => void this.serveApi(req, res));
    this.webServer = createServer((req, res) => void this.serveWeb(req, res));
    const listen = (server: Server) =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      );
    this.apiUrl = await listen(this.apiServer);
    this.webUrl = await listen(this.webServer);
    return this;
  }

  async close(): Promise<void> {
    const close = (server: Server | undefined) =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    await Promise.all([close(this.apiServer), close(this.webServer)]);
  }

  // -- test set-up ------------------------------------------------------------

  /** The environment "Sign in with GitHub" needs (the App's OAuth client credentials and both hosts). */
  oauthEnv(): Record<string, string> {
    return {
      GITHUB_CLIENT_ID: this.oauthClientId,
      GITHUB_CLIENT_SECRET: this.oauthClientSecret,
      GITHUB_API_URL: this.apiUrl,
      GITHUB_URL: this.webUrl,
    };
  }

  /** A GitHub user (for the OAuth flow and `GET /user`). */
  addUser(login: string, name?: string): DoubleUser {
    const user: DoubleUser = { id: this.nextId++, login, ...(name ? { name } : {}) };
    this.users.set(login.toLowerCase(), user);
    return user;
  }

  /** Makes `login` a member of the team `org/slug`. */
  addTeamMember(org: string, slug: string, login: string): void {
    const key = `${org}/${slug}`.toLowerCase();
    if (!this.teams.has(key)) this.teams.set(key, new Set());
    this.teams.get(key)!.add(login.toLowerCase());
  }

  /** The user who is signed in to the double's github.com and approves the next authorization (undefined: nobody). */
  signInAs(login: string | undefined): void {
    if (login !== undefined && !this.users.has(login.toLowerCase())) this.addUser(login);
    this.signedInUser = login?.toLowerCase();
  }

  /** The environment a service needs to use this double as its GitHub App (for loadGithubAppConfig). */
  env(): Record<string, string> {
    return {
      GITHUB_APP_ID: String(this.appId),
      GITHUB_APP_PRIVATE_KEY: this.privateKey,
      GITHUB_API_URL: this.apiUrl,
      GITHUB_URL: this.webUrl,
    };
  }

  /**
   * The repository and installation of a webhook payload (one of @octokit/webhooks-examples), with the App
   * installed on the repository's owner with labgrader's permissions unless told otherwise.
   */
  seedFromWebhook(
    payload: { repository: { id: number; full_name: string }; installation?: { id: number } | null; number?: number },
    options: { private?: boolean; bareDir?: string; permissions?: Record<string, Permission> } = {},
  ): { repository: DoubleRepository; installation: DoubleInstallation | undefined } {
    const repository = this.addRepository({
      id: payload.repository.id,
      fullName: payload.repository.full_name,
      private: options.private ?? true,
      ...(options.bareDir ? { bareDir: options.bareDir } : {}),
    });
    let installation: DoubleInstallation | undefined;
    if (payload.installation) {
      const existing = this.installations.get(payload.installation.id);
      installation =
        existing ??
        this.addInstallation({
          id: payload.installation.id,
          account: payload.repository.full_name.split('/')[0]!,
          permissions: options.permissions ?? {
            checks: 'write',
            contents: 'read',
            metadata: 'read',
            pull_requests: 'write',
          },
          repositorySelection: 'selected',
          repositoryIds: [],
        });
      if (!installation.repositoryIds.includes(repository.id)) installation.repositoryIds.push(repository.id);
    }
    if (payload.number !== undefined) this.addPullRequest(payload.repository.full_name, payload.number);
    return { repository, installation };
  }

  addRepository(repo: DoubleRepository): DoubleRepository {
    this.repositories.set(repo.id, repo);
    return repo;
  }

  addInstallation(installation: DoubleInstallation): DoubleInstallation {
    this.installations.set(installation.id, installation);
    return installation;
  }

  addPullRequest(fullName: string, number: number): void {
    this.pullRequests.add(`${fullName.toLowerCase()}#${number}`);
  }

  /** A comment someone else wrote (a student, another bot). */
  addComment(
    fullName: string,
    issueNumber: number,
    comment: { login: string; body: string; bot?: boolean },
  ): CommentState {
    const repo = this.repositoryByName(fullName);
    const now = iso(this.now());
    const state: CommentState = {
      id: this.id(),
      repositoryId: repo.id,
      issueNumber,
      body: comment.body,
      user: { login: comment.login, id: this.id(), type: comment.bot ? 'Bot' : 'User' },
      appId: null,
      createdAt: now,
      updatedAt: now,
    };
    this.comments.push(state);
    return state;
  }

  addDelivery(delivery: Partial<Omit<DeliveryState, 'id'>> & { event: string; statusCode: number }): DeliveryState {
    const state: DeliveryState = {
      id: this.id(),
      guid: delivery.guid ?? randomUUID(),
      deliveredAt: delivery.deliveredAt ?? iso(this.now()),
      redelivery: delivery.redelivery ?? false,
      duration: delivery.duration ?? 0.05,
      status: delivery.status ?? (delivery.statusCode >= 200 && delivery.statusCode < 300 ? 'OK' : 'failed'),
      statusCode: delivery.statusCode,
      event: delivery.event,
      action: delivery.action ?? null,
      installationId: delivery.installationId ?? null,
      repositoryId: delivery.repositoryId ?? null,
    };
    this.deliveries.push(state);
    return state;
  }

  /** The next `times` requests to `operationId` (e.g. `checks/update`) fail with this answer. */
  failNext(operationId: string, failure: InjectedFailure): void {
    this.failures.set(operationId, [...(this.failures.get(operationId) ?? []), failure]);
  }

  /** Removes and returns the violations recorded so far (for tests that provoke some on purpose). */
  takeViolations(): Violation[] {
    return this.violations.splice(0);
  }

  checkRunsOf(fullName: string): CheckRunState[] {
    const repo = this.repositoryByName(fullName);
    return this.checkRuns.filter((r) => r.repositoryId === repo.id);
  }

  commentsOn(fullName: string, issueNumber: number): CommentState[] {
    const repo = this.repositoryByName(fullName);
    return this.comments.filter((c) => c.repositoryId === repo.id && c.issueNumber === issueNumber);
  }

  /** API requests to one operation, e.g. `checks/update`. */
  requestsTo(operationId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operationId === operationId);
  }

  // -- internals --------------------------------------------------------------

  private id(): number {
    this.nextId += 1;
    return this.nextId;
  }

  private repositoryByName(fullName: string): DoubleRepository {
    for (const repo of this.repositories.values()) {
      if (repo.fullName.toLowerCase() === fullName.toLowerCase()) return repo;
    }
    throw new Error(`the double has no repository ${fullName}`);
  }

  private example<T = Json>(name: string): T {
    const example = this.examples[name];
    if (!example) throw new Error(`no example ${name} in GitHub's OpenAPI description`);
    return structuredClone(example.value) as T;
  }

  private violation(kind: ViolationKind, method: string, p: string, status: number, message: string): void {
    this.violations.push({ kind, method, path: p, status, message });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(text)) } : {}),
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...headers,
    });
    res.end(text);
  }

  private errorBody(status: number, message: string): Json {
    return { message, documentation_url: 'https://docs.github.com/rest', status: String(status) };
  }

  // -- the REST API -------------------------------------------------------------

  private async serveApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.apiUrl);
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query,
      operationId: undefined,
      status: 0,
      auth: 'none',
      body: undefined,
    };
    this.requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      this.send(res, status, body, headers);
    };
    try {
      const raw = await readBody(req);
      let body: Json = {};
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8')) as Json;
        } catch {
          throw fail(400, 'Problems parsing JSON', 'invalid-request');
        }
      }
      record.body = raw.length > 0 ? body : undefined;
      if (!req.headers['user-agent']) {
        throw fail(
          403,
          'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
          'invalid-request',
        );
      }
      const request = {
        method,
        path: url.pathname,
        headers: req.headers as Record<string, string>,
        query,
        ...(raw.length > 0 ? { body } : {}),
      };
      const operation = this.api.matchOperation(request) as Operation | undefined;
      if (!operation) throw fail(404, 'Not Found', 'unknown-route');
      const operationId = operation.operationId!;
      record.operationId = operationId;
      const handler = this.handlers[operationId];
      if (!handler) throw fail(404, `Not Found (the double does not implement ${operationId})`, 'not-implemented');

      const validation = this.api.validateRequest(request, operation);
      if (!validation.valid) {
        const details = (validation.errors ?? [])
          .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`.trim())
          .join('; ');
        throw fail(422, `Invalid request.\n\n${details}`, 'invalid-request');
      }
      const coerced = (validation.coerced ?? {}) as { params?: Record<string, string>; query?: Record<string, string> };
      const ctx: RequestContext = {
        method,
        path: url.pathname,
        query: { ...query, ...(coerced.query ?? {}) },
        params: { ...(this.api.router.parseRequest(request, operation).params as Record<string, string>) },
        body,
        now: this.now(),
      };

      const rateKey = this.authenticate(req, operationId, ctx, record);
      const remaining = this.rateLimitRemaining.get(rateKey) ?? 5000;
      const rateHeaders = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(Math.max(0, remaining - 1)),
        'x-ratelimit-used': String(5000 - Math.max(0, remaining - 1)),
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': 'core',
      };
      if (remaining <= 0) {
        reply(403, this.errorBody(403, `API rate limit exceeded for installation ID ${rateKey}.`), {
          ...rateHeaders,
          'x-ratelimit-remaining': '0',
        });
        return;
      }
      this.rateLimitRemaining.set(rateKey, remaining - 1);

      const injected = this.failures.get(operationId)?.[0];
      if (injected && (injected.skip ?? 0) > 0) {
        injected.skip! -= 1;
      } else if (injected) {
        injected.times = (injected.times ?? 1) - 1;
        if (injected.times <= 0) this.failures.get(operationId)!.shift();
        reply(injected.status, this.errorBody(injected.status, injected.message ?? 'Server Error'), {
          ...rateHeaders,
          ...injected.headers,
        });
        return;
      }

      const result = handler(ctx);
      if (result.body !== undefined) {
        const check = this.api.validateResponse(result.body, operation, result.status);
        if (!check.valid) {
          this.violation(
            'invalid-response',
            method,
            url.pathname,
            result.status,
            `the double's own answer does not match GitHub's schema: ${JSON.stringify(check.errors?.slice(0, 3))}`,
          );
        }
      }
      reply(result.status, result.body, { ...rateHeaders, ...result.headers });
    } catch (err) {
      if (err instanceof HttpFailure) {
        if (err.kind) this.violation(err.kind, method, url.pathname, err.status, err.message);
        reply(err.status, this.errorBody(err.status, err.message), err.headers);
        return;
      }
      this.violation('invalid-response', method, url.pathname, 500, `the double crashed: ${String(err)}`);
      reply(500, this.errorBody(500, 'Server Error'));
    }
  }

  /** Checks the Authorization header against what the operation needs; returns the rate-limit bucket. */
  private authenticate(
    req: IncomingMessage,
    operationId: string,
    ctx: RequestContext,
    record: RecordedRequest,
  ): number {
    const header = req.headers.authorization ?? '';
    const match = /^(bearer|token)\s+(\S+)$/i.exec(header);
    const credential = match?.[2];
    const needs = GithubDouble.NEEDS[operationId]!;
    if (!credential) {
      record.auth = 'none';
      throw fail(401, 'Requires authentication', 'unauthenticated');
    }
    const isJwt = credential.split('.').length === 3;
    if (needs === 'user') {
      const login = this.userTokens.get(credential);
      if (!login) {
        record.auth = 'invalid';
        throw fail(401, 'Bad credentials', 'unauthenticated');
      }
      record.auth = 'user';
      ctx.userLogin = login;
      ctx.userScopes = this.userTokenScopes.get(credential) ?? [];
      return 0;
    }
    if (needs === 'jwt') {
      if (!isJwt) {
        record.auth = 'invalid';
        throw fail(401, 'A JSON web token could not be decoded', 'unauthenticated');
      }
      this.verifyJwt(credential);
      record.auth = 'jwt';
      return 0;
    }
    if (isJwt) {
      record.auth = 'invalid';
      throw fail(
        403,
        'Resource not accessible by integration (an App JWT cannot be used here; use an installation token)',
        'forbidden',
      );
    }
    const token = this.issuedTokens.find((t) => t.token === credential);
    if (!token) {
      record.auth = 'invalid';
      throw fail(401, 'Bad credentials', 'unauthenticated');
    }
    if (token.expiresAt <= ctx.now) {
      record.auth = 'invalid';
      throw fail(401, 'Bad credentials (the installation token has expired)', 'unauthenticated');
    }
    const installation = this.installations.get(token.installationId);
    if (!installation) {
      record.auth = 'invalid';
      throw fail(401, 'Bad credentials (the installation was deleted)', 'unauthenticated');
    }
    if (installation.suspended) {
      record.auth = 'invalid';
      throw fail(403, 'This installation has been suspended', 'forbidden');
    }
    record.auth = 'installation';
    record.tokenPermissions = token.permissions;
    ctx.token = token;
    // Any installation token may revoke itself: no repository, no permission.
    if (needs === 'installation') return token.installationId;
    const repo = this.repositoryOf(ctx);
    if (!this.tokenCovers(token, repo)) throw fail(404, 'Not Found', 'not-found');
    const [names, needed] = needs;
    const granted = (Array.isArray(names) ? names : [names]).some((n) => satisfies(token.permissions[n], needed));
    if (!granted) throw fail(403, 'Resource not accessible by integration', 'forbidden');
    return installation.id;
  }

  private verifyJwt(jwt: string): void {
    const undecodable = () => fail(401, 'A JSON web token could not be decoded', 'unauthenticated');
    const [h, p, s] = jwt.split('.') as [string, string, string];
    let header: Json;
    let payload: Json;
    try {
      header = JSON.parse(base64url(h).toString('utf8')) as Json;
      payload = JSON.parse(base64url(p).toString('utf8')) as Json;
    } catch {
      throw undecodable();
    }
    if (header.alg !== 'RS256') throw undecodable();
    if (!verify('sha256', Buffer.from(`${h}.${p}`), this.publicKey, base64url(s))) throw undecodable();
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (String(payload.iss) !== String(this.appId)) {
      throw fail(401, "'Issuer' claim ('iss') must be the App's id", 'unauthenticated');
    }
    const { iat, exp } = payload;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowSeconds + 5) {
      throw fail(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        'unauthenticated',
      );
    }
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= nowSeconds) {
      throw fail(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        'unauthenticated',
      );
    }
    if (exp > nowSeconds + 600 || exp - iat > 600) {
      throw fail(401, "'Expiration time' claim ('exp') is too far in the future", 'unauthenticated');
    }
  }

  private repositoryOf(ctx: RequestContext): DoubleRepository {
    const { owner, repo } = ctx.params;
    const found = [...this.repositories.values()].find(
      (r) => r.fullName.toLowerCase() === `${owner}/${repo}`.toLowerCase(),
    );
    if (!found) throw fail(404, 'Not Found', 'not-found');
    return found;
  }

  private installationCovers(installation: DoubleInstallation, repo: DoubleRepository): boolean {
    const sameAccount = repo.fullName.split('/')[0]!.toLowerCase() === installation.account.toLowerCase();
    return sameAccount && (installation.repositorySelection === 'all' || installation.repositoryIds.includes(repo.id));
  }

  private tokenCovers(token: IssuedToken, repo: DoubleRepository): boolean {
    const installation = this.installations.get(token.installationId);
    if (!installation || !this.installationCovers(installation, repo)) return false;
    return token.repositoryIds === undefined || token.repositoryIds.includes(repo.id);
  }

  // -- apps ---------------------------------------------------------------------

  /** Installation tokens revoked with `DELETE /installation/token` (they no longer authenticate). */
  readonly revokedTokens: IssuedToken[] = [];

  private revokeToken(ctx: RequestContext): { status: number } {
    const token = ctx.token!;
    this.issuedTokens.splice(this.issuedTokens.indexOf(token), 1);
    this.revokedTokens.push(token);
    return { status: 204 };
  }

  private integration(): Json {
    const app = this.example('integration');
    const owner = app.owner as Json;
    return {
      ...app,
      id: this.appId,
      slug: this.appSlug,
      client_id: `Iv1.${this.appId}`,
      name: 'labgrader (test)',
      html_url: `${this.webUrl}/apps/${this.appSlug}`,
      owner: { ...owner, login: 'course-org' },
      permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'write' },
      events: ['check_run', 'check_suite', 'pull_request', 'push'],
    };
  }

  private createToken(ctx: RequestContext): ReturnType<Handler> {
    const installation = this.installations.get(Number(ctx.params.installation_id));
    if (!installation) throw fail(404, 'Not Found', 'not-found');
    if (installation.suspended) throw fail(403, 'This installation has been suspended', 'forbidden');
    const body = ctx.body as {
      repositories?: string[];
      repository_ids?: number[];
      permissions?: Record<string, string>;
    };
    const accessible = [...this.repositories.values()].filter((r) => this.installationCovers(installation, r));
    let repositoryIds: number[] | undefined;
    if (body.repositories || body.repository_ids) {
      const wanted = [
        ...(body.repository_ids ?? []).map((id) => accessible.find((r) => r.id === id)),
        ...(body.repositories ?? []).map((name) =>
          accessible.find((r) => r.fullName.split('/')[1]!.toLowerCase() === name.toLowerCase()),
        ),
      ];
      if (wanted.some((r) => r === undefined)) {
        throw fail(
          422,
          'There is at least one repository that does not exist or is not accessible to the parent installation.',
          'invalid-request',
        );
      }
      repositoryIds = [...new Set(wanted.map((r) => r!.id))];
    }
    let permissions: Record<string, Permission> = { ...installation.permissions };
    if (body.permissions) {
      for (const [name, level] of Object.entries(body.permissions)) {
        if (!satisfies(installation.permissions[name], level as Permission)) {
          throw fail(422, 'The permissions requested are not granted to this installation.', 'invalid-request');
        }
      }
      permissions = { ...(body.permissions as Record<string, Permission>), metadata: 'read' };
    }
    const token: IssuedToken = {
      token: `ghs_${randomBytes(27)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, 'x')
        .slice(0, 36)}`,
      installationId: installation.id,
      repositoryIds,
      permissions,
      expiresAt: Math.floor((ctx.now + this.tokenLifetimeMs) / 1000) * 1000,
    };
    this.issuedTokens.push(token);
    const template = this.example<{ repositories: Json[] }>('installation-token').repositories[0]!;
    return {
      status: 201,
      body: {
        token: token.token,
        expires_at: iso(token.expiresAt),
        permissions,
        repository_selection: repositoryIds ? 'selected' : installation.repositorySelection,
        ...(repositoryIds
          ? { repositories: repositoryIds.map((id) => this.repositoryJson(this.repositories.get(id)!, template)) }
          : {}),
      },
    };
  }

  private repositoryJson(repo: DoubleRepository, template: Json): Json {
    const [owner, name] = repo.fullName.split('/') as [string, string];
    return {
      ...template,
      id: repo.id,
      name,
      full_name: repo.fullName,
      private: repo.private,
      owner: { ...(template.owner as Json), login: owner },
      html_url: `${this.webUrl}/${repo.fullName}`,
      clone_url: `${this.webUrl}/${repo.fullName}.git`,
      url: `${this.apiUrl}/repos/${repo.fullName}`,
    };
  }

  private deliveryJson(d: DeliveryState): Json {
    return {
      id: d.id,
      guid: d.guid,
      delivered_at: d.deliveredAt,
      redelivery: d.redelivery,
      duration: d.duration,
      status: d.status,
      status_code: d.statusCode,
      event: d.event,
      action: d.action,
      installation_id: d.installationId,
      repository_id: d.repositoryId,
      throttled_at: null,
    };
  }

  private listDeliveries(ctx: RequestContext): ReturnType<Handler> {
    const perPage = Math.min(100, Number(ctx.query.per_page ?? 30));
    let list = [...this.deliveries].sort((a, b) => b.id - a.id);
    if (ctx.query.status === 'success') list = list.filter((d) => d.statusCode >= 200 && d.statusCode < 400);
    if (ctx.query.status === 'failure') list = list.filter((d) => d.statusCode >= 400 && d.statusCode < 600);
    const cursor = ctx.query.cursor;
    if (cursor !== undefined) {
      const after = /^v1_(\d+)$/.exec(cursor);
      if (!after) throw fail(400, 'Invalid cursor', 'invalid-request');
      list = list.filter((d) => d.id < Number(after[1]));
    }
    const page = list.slice(0, perPage);
    const headers: Record<string, string> = {};
    if (list.length > perPage) {
      const next = new URL('/app/hook/deliveries', this.apiUrl);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('cursor', `v1_${page.at(-1)!.id}`);
      if (ctx.query.status) next.searchParams.set('status', ctx.query.status);
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { status: 200, body: page.map((d) => this.deliveryJson(d)), headers };
  }

  private redeliver(ctx: RequestContext): ReturnType<Handler> {
    const original = this.deliveries.find((d) => d.id === Number(ctx.params.delivery_id));
    if (!original) throw fail(404, 'Not Found', 'not-found');
    this.redelivered.push(original.id);
    this.addDelivery({
      guid: original.guid,
      event: original.event,
      action: original.action,
      installationId: original.installationId,
      repositoryId: original.repositoryId,
      redelivery: true,
      status: this.redeliveryOutcome.status,
      statusCode: this.redeliveryOutcome.statusCode,
    });
    return { status: 202, body: {} };
  }

  // -- checks -------------------------------------------------------------------

  private commitExists(repo: DoubleRepository, sha: string): boolean {
    if (!repo.bareDir) return /^[0-9a-f]{40}$/.test(sha);
    try {
      execFileSync('git', ['--git-dir', repo.bareDir, 'cat-file', '-e', `${sha}^{commit}`], {
        stdio: 'ignore',
        env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: os.tmpdir() },
      });
      return true;
    } catch {
      return false;
    }
  }

  private checkRunJson(run: CheckRunState): Json {
    const template = this.example('check-run');
    const repo = this.repositories.get(run.repositoryId)!;
    return {
      ...template,
      id: run.id,
      node_id: Buffer.from(`CheckRun${run.id}`).toString('base64'),
      head_sha: run.headSha,
      external_id: run.externalId,
      url: `${this.apiUrl}/repos/${repo.fullName}/check-runs/${run.id}`,
      html_url: `${this.webUrl}/${repo.fullName}/runs/${run.id}`,
      details_url: run.detailsUrl ?? `${this.webUrl}/apps/${this.appSlug}`,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.startedAt,
      completed_at: run.completedAt,
      output: {
        title: run.output.title,
        summary: run.output.summary,
        text: run.output.text,
        annotations_count: run.annotations.length,
        annotations_url: `${this.apiUrl}/repos/${repo.fullName}/check-runs/${run.id}/annotations`,
      },
      name: run.name,
      check_suite: { id: run.repositoryId * 1000 + 1 },
      app: this.integration(),
      pull_requests: [],
    };
  }

  private checkRun(ctx: RequestContext): CheckRunState {
    const repo = this.repositoryOf(ctx);
    const run = this.checkRuns.find((r) => r.id === Number(ctx.params.check_run_id) && r.repositoryId === repo.id);
    if (!run) throw fail(404, 'Not Found', 'not-found');
    return run;
  }

  /** GitHub's rules for a check run body that the OpenAPI description does not spell out. */
  private checkCheckRunBody(body: Json, existing: CheckRunState | undefined): void {
    const status = (body.status as string | undefined) ?? (body.conclusion ? 'completed' : existing?.status);
    if ((status === 'completed' || body.completed_at) && !body.conclusion && !existing?.conclusion) {
      throw fail(422, 'Invalid request.\n\nconclusion is required when status is completed', 'invalid-request');
    }
    if ('name' in body && (typeof body.name !== 'string' || body.name.trim() === '')) {
      throw fail(422, 'Invalid request.\n\nname cannot be blank', 'invalid-request');
    }
    const output = body.output as { annotations?: Json[]; summary?: string } | undefined;
    for (const [i, a] of (output?.annotations ?? []).entries()) {
      const where = `output.annotations[${i}]`;
      const problem = (text: string) => fail(422, `Invalid request.\n\n${where}: ${text}`, 'invalid-request');
      const start = a.start_line as number;
      const end = a.end_line as number;
      if (start < 1 || end < start) throw problem('start_line must be ≥ 1 and end_line ≥ start_line');
      if ((a.start_column !== undefined || a.end_column !== undefined) && start !== end) {
        throw problem('start_column and end_column are only allowed when start_line equals end_line');
      }
      if (
        a.start_column !== undefined &&
        a.end_column !== undefined &&
        (a.end_column as number) < (a.start_column as number)
      ) {
        throw problem('end_column must be ≥ start_column');
      }
      if (typeof a.title === 'string' && Array.from(a.title).length > 255)
        throw problem('title is longer than 255 characters');
      for (const field of ['message', 'raw_details'] as const) {
        if (typeof a[field] === 'string' && Buffer.byteLength(a[field] as string) > 64 * 1024) {
          throw problem(`${field} is larger than 64 KB`);
        }
      }
      if (typeof a.path !== 'string' || a.path === '' || a.path.startsWith('/'))
        throw problem('path must be a relative path');
    }
  }

  private applyCheckRunBody(run: CheckRunState, body: Json, now: number): void {
    if (typeof body.name === 'string') run.name = body.name;
    if (typeof body.details_url === 'string') run.detailsUrl = body.details_url;
    if (typeof body.external_id === 'string') run.externalId = body.external_id;
    if (typeof body.started_at === 'string') run.startedAt = body.started_at;
    if (typeof body.status === 'string') run.status = body.status;
    if (typeof body.conclusion === 'string') {
      run.conclusion = body.conclusion;
      run.status = 'completed';
    } else if (body.status === 'queued' || body.status === 'in_progress') {
      run.conclusion = null;
      run.completedAt = null;
    }
    if (run.status === 'completed') run.completedAt = (body.completed_at as string | undefined) ?? iso(now);
    if (run.status === 'in_progress' && !run.startedAt) run.startedAt = iso(now);
    const output = body.output as { title?: string; summary?: string; text?: string; annotations?: Json[] } | undefined;
    if (output) {
      if (output.title !== undefined) run.output.title = output.title;
      if (output.summary !== undefined) run.output.summary = output.summary;
      if (output.text !== undefined) run.output.text = output.text;
      // GitHub appends: every update adds its annotations to those already there.
      run.annotations.push(...(output.annotations ?? []));
    }
    if (Array.isArray(body.actions)) run.actions = body.actions as CheckRunState['actions'];
  }

  private createCheckRun(ctx: RequestContext): ReturnType<Handler> {
    const repo = this.repositoryOf(ctx);
    const body = ctx.body;
    this.checkCheckRunBody(body, undefined);
    if (!this.commitExists(repo, body.head_sha as string)) {
      throw fail(422, `No commit found for SHA: ${String(body.head_sha)}`, 'invalid-request');
    }
    const run: CheckRunState = {
      id: this.id(),
      repositoryId: repo.id,
      name: body.name as string,
      headSha: body.head_sha as string,
      externalId: '',
      detailsUrl: null,
      status: 'queued',
      conclusion: null,
      startedAt: null,
      completedAt: null,
      output: { title: null, summary: null, text: null },
      annotations: [],
      actions: [],
      appId: this.appId,
    };
    this.applyCheckRunBody(run, body, ctx.now);
    if (!run.startedAt) run.startedAt = iso(ctx.now);
    this.checkRuns.push(run);
    return { status: 201, body: this.checkRunJson(run) };
  }

  private updateCheckRun(ctx: RequestContext): ReturnType<Handler> {
    const run = this.checkRun(ctx);
    if (run.appId !== this.appId)
      throw fail(
        403,
        'Invalid app_id `0` - check run can only be modified by the GitHub App that created it.',
        'forbidden',
      );
    this.checkCheckRunBody(ctx.body, run);
    this.applyCheckRunBody(run, ctx.body, ctx.now);
    return { status: 200, body: this.checkRunJson(run) };
  }

  private paginate<T>(ctx: RequestContext, items: T[]): { page: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(ctx.query.per_page ?? 30)));
    const pageNo = Math.max(1, Number(ctx.query.page ?? 1));
    const page = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const headers: Record<string, string> = {};
    if (pageNo * perPage < items.length) {
      const next = new URL(ctx.path, this.apiUrl);
      for (const [k, v] of Object.entries(ctx.query)) next.searchParams.set(k, String(v));
      next.searchParams.set('page', String(pageNo + 1));
      next.searchParams.set('per_page', String(perPage));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { page, headers };
  }

  private listCheckRuns(ctx: RequestContext): ReturnType<Handler> {
    const repo = this.repositoryOf(ctx);
    let ref = ctx.params.ref!;
    if (!/^[0-9a-f]{40}$/.test(ref) && repo.bareDir) {
      try {
        ref = execFileSync('git', ['--git-dir', repo.bareDir, 'rev-parse', '--verify', `${ref}^{commit}`], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: os.tmpdir() },
        }).trim();
      } catch {
        throw fail(422, `No commit found for ref: ${ref}`, 'invalid-request');
      }
    }
    let runs = this.checkRuns.filter((r) => r.repositoryId === repo.id && r.headSha === ref);
    if (ctx.query.check_name) runs = runs.filter((r) => r.name === ctx.query.check_name);
    if (ctx.query.status) runs = runs.filter((r) => r.status === ctx.query.status);
    if (ctx.query.app_id) runs = runs.filter((r) => r.appId === Number(ctx.query.app_id));
    runs.sort((a, b) => b.id - a.id);
    if ((ctx.query.filter ?? 'latest') === 'latest') {
      const seen = new Set<string>();
      runs = runs.filter((r) => !seen.has(r.name) && seen.add(r.name));
    }
    const { page, headers } = this.paginate(ctx, runs);
    return {
      status: 200,
      body: { total_count: runs.length, check_runs: page.map((r) => this.checkRunJson(r)) },
      headers,
    };
  }

  private listAnnotations(ctx: RequestContext): ReturnType<Handler> {
    const run = this.checkRun(ctx);
    const repo = this.repositories.get(run.repositoryId)!;
    const { page, headers } = this.paginate(ctx, run.annotations);
    return {
      status: 200,
      body: page.map((a) => ({
        path: a.path,
        start_line: a.start_line,
        end_line: a.end_line,
        start_column: a.start_column ?? null,
        end_column: a.end_column ?? null,
        annotation_level: a.annotation_level,
        title: a.title ?? null,
        message: a.message,
        raw_details: a.raw_details ?? null,
        blob_href: `${this.webUrl}/${repo.fullName}/blob/${run.headSha}/${String(a.path)}`,
      })),
      headers,
    };
  }

  // -- issue comments -------------------------------------------------------------

  private commentJson(c: CommentState): Json {
    const template = this.example('issue-comment');
    const repo = this.repositories.get(c.repositoryId)!;
    return {
      ...template,
      id: c.id,
      node_id: Buffer.from(`IssueComment${c.id}`).toString('base64'),
      url: `${this.apiUrl}/repos/${repo.fullName}/issues/comments/${c.id}`,
      html_url: `${this.webUrl}/${repo.fullName}/pull/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${this.apiUrl}/repos/${repo.fullName}/issues/${c.issueNumber}`,
      body: c.body,
      user: { ...(template.user as Json), login: c.user.login, id: c.user.id, type: c.user.type },
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: 'NONE',
      performed_via_github_app: c.appId === null ? null : this.integration(),
    };
  }

  private pullRequest(ctx: RequestContext): { repo: DoubleRepository; number: number } {
    const repo = this.repositoryOf(ctx);
    const number = Number(ctx.params.issue_number);
    if (!this.pullRequests.has(`${repo.fullName.toLowerCase()}#${number}`)) throw fail(404, 'Not Found', 'not-found');
    return { repo, number };
  }

  private comment(ctx: RequestContext): CommentState {
    const repo = this.repositoryOf(ctx);
    const found = this.comments.find((c) => c.id === Number(ctx.params.comment_id) && c.repositoryId === repo.id);
    if (!found) throw fail(404, 'Not Found', 'not-found');
    return found;
  }

  private checkCommentBody(body: Json): string {
    const text = body.body;
    if (typeof text !== 'string' || text === '')
      throw fail(422, 'Invalid request.\n\nbody cannot be blank', 'invalid-request');
    if (text.length > 65_536) {
      throw fail(422, 'Validation Failed: body is too long (maximum is 65536 characters)', 'invalid-request');
    }
    return text;
  }

  private listComments(ctx: RequestContext): ReturnType<Handler> {
    const { repo, number } = this.pullRequest(ctx);
    const list = this.comments
      .filter((c) => c.repositoryId === repo.id && c.issueNumber === number)
      .sort((a, b) => a.id - b.id);
    const { page, headers } = this.paginate(ctx, list);
    return { status: 200, body: page.map((c) => this.commentJson(c)), headers };
  }

  private createComment(ctx: RequestContext): ReturnType<Handler> {
    const { repo, number } = this.pullRequest(ctx);
    const now = iso(ctx.now);
    const comment: CommentState = {
      id: this.id(),
      repositoryId: repo.id,
      issueNumber: number,
      body: this.checkCommentBody(ctx.body),
      user: { login: `${this.appSlug}[bot]`, id: 900000 + this.appId, type: 'Bot' },
      appId: this.appId,
      createdAt: now,
      updatedAt: now,
    };
    this.comments.push(comment);
    return {
      status: 201,
      body: this.commentJson(comment),
      headers: { location: this.commentJson(comment).url as string },
    };
  }

  private updateComment(ctx: RequestContext): ReturnType<Handler> {
    const comment = this.comment(ctx);
    if (comment.appId !== this.appId) throw fail(403, 'Resource not accessible by integration', 'forbidden');
    comment.body = this.checkCommentBody(ctx.body);
    comment.updatedAt = iso(ctx.now);
    return { status: 200, body: this.commentJson(comment) };
  }

  private deleteComment(ctx: RequestContext): ReturnType<Handler> {
    const comment = this.comment(ctx);
    if (comment.appId !== this.appId) throw fail(403, 'Resource not accessible by integration', 'forbidden');
    this.comments.splice(this.comments.indexOf(comment), 1);
    return { status: 204 };
  }

  private authenticatedUser(ctx: RequestContext): ReturnType<Handler> {
    const user = this.users.get(ctx.userLogin!)!;
    const body = this.example<Json>('private-user');
    return {
      status: 200,
      body: {
        ...body,
        login: user.login,
        id: user.id,
        node_id: `U_${user.id}`,
        name: user.name ?? null,
        html_url: `${this.webUrl}/${user.login}`,
        url: `${this.apiUrl}/users/${user.login}`,
      },
    };
  }

  private userTeams(ctx: RequestContext): ReturnType<Handler> {
    // GitHub: listing one's teams needs the read:org scope (user, repo or admin:org would also do).
    if (!ctx.userScopes?.some((scope) => ['read:org', 'admin:org', 'user', 'repo'].includes(scope))) {
      throw fail(403, 'Resource not accessible by integration (the token lacks read:org)', 'forbidden');
    }
    const template = this.example<Json[]>('team-full-items')[0]!;
    const body = [...this.teams]
      .filter(([, members]) => members.has(ctx.userLogin!))
      .map(([key], i) => {
        const [org, slug] = key.split('/') as [string, string];
        return {
          ...template,
          id: 900 + i,
          slug,
          name: slug,
          // GitHub's example predates two required fields of its schema.
          type: 'organization',
          organization: { archived_at: null, ...(template.organization as Json), login: org },
        };
      });
    return { status: 200, body };
  }

  // -- the web host: "Sign in with GitHub" (OAuth web application flow) ------------

  private async serveOAuth(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      operationId: `oauth${url.pathname}`,
      status: 0,
      auth: 'none',
      body: undefined,
    };
    this.requests.push(record);
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      record.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    const json = (body: Json) =>
      answer(200, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(body));
    const oauthError = (error: string, description: string) => {
      this.violation('invalid-request', method, url.pathname, 200, `${error}: ${description}`);
      json({ error, error_description: description, error_uri: 'https://docs.github.com/apps/oauth' });
    };
    if (url.pathname === '/login/oauth/authorize' && method === 'GET') {
      const clientId = url.searchParams.get('client_id');
      const redirectUri = url.searchParams.get('redirect_uri');
      if (clientId !== this.oauthClientId) {
        this.violation('invalid-request', method, url.pathname, 404, 'unknown client_id');
        return answer(404, { 'content-type': 'text/plain' }, 'Not Found\n');
      }
      if (!redirectUri || !/^https?:\/\//.test(redirectUri)) {
        this.violation('invalid-request', method, url.pathname, 400, 'redirect_uri missing or not a URL');
        return answer(400, { 'content-type': 'text/plain' }, 'redirect_uri is required\n');
      }
      if (!this.signedInUser) {
        return answer(
          200,
          { 'content-type': 'text/html' },
          '<!doctype html><title>Sign in to GitHub</title><p>Sign in</p>',
        );
      }
      const code = randomBytes(10).toString('hex');
      this.oauthCodes.push({
        code,
        scopes: (url.searchParams.get('scope') ?? '').split(/[ ,]+/).filter(Boolean),
        login: this.signedInUser,
        clientId,
        redirectUri,
        expiresAt: this.now() + 10 * 60_000,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      const state = url.searchParams.get('state');
      if (state !== null) back.searchParams.set('state', state);
      return answer(302, { location: back.toString() }, '');
    }
    if (url.pathname === '/login/oauth/access_token' && method === 'POST') {
      const raw = (await readBody(req)).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      let params: Record<string, string>;
      try {
        params = type.includes('json')
          ? (JSON.parse(raw) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return oauthError('bad_request', 'the body is not JSON');
      }
      record.body = { ...params, client_secret: params.client_secret ? '(redacted)' : undefined };
      if (!String(req.headers.accept ?? '').includes('application/json')) {
        this.violation(
          'invalid-request',
          method,
          url.pathname,
          200,
          'no Accept: application/json (GitHub answers form-encoded)',
        );
      }
      if (params.client_id !== this.oauthClientId || params.client_secret !== this.oauthClientSecret) {
        return oauthError('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
      }
      const index = this.oauthCodes.findIndex((c) => c.code === params.code);
      const found = index >= 0 ? this.oauthCodes[index]! : undefined;
      if (!found || found.clientId !== params.client_id || found.expiresAt <= this.now()) {
        return oauthError('bad_verification_code', 'The code passed is incorrect or expired.');
      }
      if (params.redirect_uri !== undefined && params.redirect_uri !== found.redirectUri) {
        return oauthError(
          'redirect_uri_mismatch',
          'The redirect_uri MUST match the registered callback URL for this application.',
        );
      }
      this.oauthCodes.splice(index, 1);
      const token = `ghu_${randomBytes(18).toString('hex')}`;
      this.userTokens.set(token, found.login);
      this.userTokenScopes.set(token, found.scopes);
      return json({ access_token: token, token_type: 'bearer', scope: found.scopes.join(',') });
    }
    this.violation('unknown-route', method, url.pathname, 404, 'not an OAuth endpoint');
    return answer(404, { 'content-type': 'text/plain' }, 'Not Found\n');
  }

  // -- the web host: git over smart HTTP ----------------------------------------------

  private async serveWeb(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.webUrl);
    if (url.pathname.startsWith('/login/oauth/')) return this.serveOAuth(req, res, url);
    const match = /^\/([^/]+)\/([^/]+?)(?:\.git)?(\/info\/refs|\/git-upload-pack|\/git-receive-pack)$/.exec(
      url.pathname,
    );
    const service = url.searchParams.get('service') ?? match?.[3]?.slice(1) ?? '';
    const record: GitRequest = { repository: match ? `${match[1]}/${match[2]}` : url.pathname, service, status: 0 };
    this.gitRequests.push(record);
    const refuse = (
      status: number,
      message: string,
      kind: ViolationKind | undefined,
      headers: Record<string, string> = {},
    ) => {
      record.status = status;
      if (kind) this.violation(kind, method, url.pathname, status, message);
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(`${message}\n`);
    };
    try {
      const body = await readBody(req);
      if (!match) return refuse(404, 'Not Found', 'unknown-route');
      const repo = [...this.repositories.values()].find(
        (r) => r.fullName.toLowerCase() === `${match[1]}/${match[2]}`.toLowerCase(),
      );
      if (service === 'git-receive-pack') return refuse(403, 'Write access to repository not granted.', 'git');
      if (service !== 'git-upload-pack') return refuse(403, 'Please upgrade your git client.', 'git');

      const authorization = req.headers.authorization;
      let token: IssuedToken | undefined;
      if (authorization) {
        const basic = /^Basic\s+(\S+)$/i.exec(authorization);
        const decoded = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        const username = decoded.slice(0, colon);
        const password = decoded.slice(colon + 1);
        token = this.issuedTokens.find((t) => t.token === password);
        const installation = token ? this.installations.get(token.installationId) : undefined;
        if (
          !basic ||
          colon <= 0 ||
          username !== 'x-access-token' ||
          !token ||
          !installation ||
          token.expiresAt <= this.now() ||
          installation.suspended
        ) {
          return refuse(
            401,
            'Invalid username or token. Password authentication is not supported for Git operations.',
            'git',
            {
              'www-authenticate': 'Basic realm="GitHub"',
            },
          );
        }
        record.token = token.token;
      }
      if (!repo || !repo.bareDir) return refuse(404, 'Repository not found.', 'git');
      if (repo.private) {
        if (!token) {
          return refuse(401, 'Authentication required for a private repository.', 'git', {
            'www-authenticate': 'Basic realm="GitHub"',
          });
        }
        if (!this.tokenCovers(token, repo)) return refuse(404, 'Repository not found.', 'git');
        if (!satisfies(token.permissions.contents, 'read')) {
          return refuse(403, `Permission to ${repo.fullName}.git denied to the installation.`, 'git');
        }
      }
      await this.gitHttpBackend(req, res, repo.bareDir, match[3]!, url, body, record);
    } catch (err) {
      refuse(500, `the double crashed: ${String(err)}`, 'invalid-response');
    }
  }

  /** Runs `git http-backend` (CGI) for one request on the bare repository. */
  private gitHttpBackend(
    req: IncomingMessage,
    res: ServerResponse,
    bareDir: string,
    tail: string,
    url: URL,
    body: Buffer,
    record: GitRequest,
  ): Promise<void> {
    return new Promise((resolve) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: os.tmpdir(),
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: path.dirname(bareDir),
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${path.basename(bareDir)}${tail}`,
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: String(body.length),
        REMOTE_ADDR: '127.0.0.1',
        REMOTE_USER: record.token ? 'x-access-token' : '',
        // GitHub serves any reachable commit by SHA.
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'uploadpack.allowReachableSHA1InWant',
        GIT_CONFIG_VALUE_0: 'true',
      };
      if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
      if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let head = Buffer.alloc(0);
      let headersSent = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (headersSent) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const crlf = head.indexOf('\r\n\r\n');
        const lf = head.indexOf('\n\n');
        const end = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf : lf;
        if (end === -1) return;
        const headerText = head.subarray(0, end).toString('latin1');
        const rest = head.subarray(end + (end === crlf ? 4 : 2));
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of headerText.split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon === -1) continue;
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
          else headers[name] = value;
        }
        record.status = status;
        res.writeHead(status, headers);
        headersSent = true;
        if (rest.length > 0) res.write(rest);
      });
      child.on('close', () => {
        if (!headersSent) {
          record.status = 500;
          this.violation('invalid-response', req.method ?? 'GET', url.pathname, 500, 'git http-backend gave no answer');
          res.writeHead(500);
        }
        res.end();
        resolve();
      });
      child.stdin.on('error', () => {}); // http-backend does not read the (empty) body of a GET
      child.stdin.end(body);
    });
  }
}

/** Starts a GitHub double on loopback; close it in afterAll. */
export async function startGithubDouble(options: GithubDoubleOptions = {}): Promise<GithubDouble> {
  return new GithubDouble(options).start();
}

/** GitHub's own example webhook payloads (@octokit/webhooks-examples), by event and action. */
export function webhookExample<T = Json>(
  event: string,
  action?: string,
  filter: (payload: Json) => boolean = () => true,
): T {
  const all = require('@octokit/webhooks-examples/api.github.com/index.json') as {
    name: string;
    examples: Json[];
  }[];
  const examples = all.find((e) => e.name === event)?.examples ?? [];
  const found = examples.find((e) => (action === undefined || e.action === action) && filter(e));
  if (!found) throw new Error(`no @octokit/webhooks-examples payload for ${event}${action ? `.${action}` : ''}`);
  return structuredClone(found) as T;
}
