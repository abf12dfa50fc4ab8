/**
 * Who asks: sessions in signed cookies, the admin token, CSRF, and "Sign in
 * with GitHub" (the OAuth web application flow).
 *
 * A session cookie is `base64url(JSON) . base64url(HMAC-SHA256)`, httpOnly,
 * SameSite=Lax, Secure when the dashboard is served over https; it carries
 * the login, the role and its own CSRF token, and expires after 12 hours.
 * The GitHub user token is used once (GET /user) and never kept or logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { instructorTeams, isInstructor, type CourseConfig } from '@labgrader/course';
import type { GithubOAuthConfig } from './config.js';

export type Role = 'instructor' | 'student';

export interface Viewer {
  /** Lowercased GitHub login; `admin` for the admin token. */
  login: string;
  role: Role;
  via: 'token' | 'session';
  /** The session's CSRF token (absent for Bearer requests, which carry no cookie). */
  csrf?: string;
}

interface SessionPayload {
  v: 1;
  login: string;
  role: Role;
  csrf: string;
  exp: number;
}

export const SESSION_COOKIE = 'lg_session';
export const OAUTH_STATE_COOKIE = 'lg_oauth_state';
export const SIGN_IN_COOKIE = 'lg_sign_in';
const SESSION_SECONDS = 12 * 3600;

/** Someone who is not signed in, or whose credentials are wrong. */
export class UnauthenticatedError extends Error {
  constructor(message = 'sign in first') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** A POST without the session's CSRF token, or from another origin. */
export class CsrfError extends Error {
  constructor(message = 'missing or wrong CSRF token') {
    super(message);
    this.name = 'CsrfError';
  }
}

/** The GitHub OAuth exchange failed (a bad code, GitHub unreachable). */
export class OAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OAuthError';
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function readCookies(req: Request): Record<string, string> {
  const header = req.headers.cookie ?? '';
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      /* not ours */
    }
  }
  return out;
}

export interface AuthOptions {
  sessionSecret: string;
  adminToken?: string;
  oauth?: GithubOAuthConfig;
  /** Secure cookies (the dashboard is reached over https). */
  secureCookies: boolean;
  course: CourseConfig;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface Auth {
  /** The viewer, or undefined when nobody is signed in; throws UnauthenticatedError for a wrong Bearer token. */
  viewer(req: Request): Viewer | undefined;
  /** Starts a session; returns it. */
  signIn(res: Response, login: string, role: Role): Viewer;
  signOut(res: Response): void;
  /** Whether the admin token is right (the sign-in form). */
  adminTokenMatches(token: string): boolean;
  readonly adminTokenEnabled: boolean;
  readonly githubEnabled: boolean;
  /** Throws CsrfError unless the request carries the session's token (Bearer requests need none). */
  checkCsrf(req: Request, viewer: Viewer | undefined, given: string | undefined): void;
  /** A one-off token for the sign-in form (double-submit cookie: the form's value must equal the cookie's). */
  signInFormToken(req: Request, res: Response): string;
  checkSignInFormToken(req: Request, given: string | undefined): void;
  /** Where to send the browser to sign in with GitHub (sets the state cookie). */
  githubAuthorizeUrl(res: Response, callbackUrl: string, next: string): string;
  /** Handles GitHub's redirect back: checks the state, exchanges the code, asks who it is. */
  githubCallback(req: Request, res: Response, callbackUrl: string): Promise<{ viewer: Viewer; next: string }>;
}

/** The user's teams, lowercased (`GET /user/teams`, first 100); throws OAuthError when GitHub refuses. */
async function userTeams(
  oauth: GithubOAuthConfig,
  token: string,
  doFetch: typeof fetch,
): Promise<{ org: string; slug: string }[]> {
  const answer = await doFetch(`${oauth.apiUrl}/user/teams?per_page=100`, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'user-agent': 'labgrader-dashboard',
      'x-github-api-version': '2022-11-28',
    },
    signal: AbortSignal.timeout(10_000),
  });
  if (!answer.ok) throw new OAuthError(`GitHub did not list the user's teams (${answer.status})`);
  const teams = (await answer.json()) as { slug?: unknown; organization?: { login?: unknown } }[];
  return teams.flatMap((t) =>
    typeof t.slug === 'string' && typeof t.organization?.login === 'string'
      ? [{ org: t.organization.login.toLowerCase(), slug: t.slug.toLowerCase() }]
      : [],
  );
}

export function createAuth(options: AuthOptions): Auth {
  const now = options.now ?? (() => Date.now());
  const doFetch = options.fetch ?? fetch;
  const mac = (text: string) => createHmac('sha256', options.sessionSecret).update(text).digest('base64url');
  const seal = (payload: object) => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${mac(body)}`;
  };
  const unseal = <T>(value: string | undefined): T | undefined => {
    if (!value) return undefined;
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const body = value.slice(0, dot);
    if (!sameSecret(value.slice(dot + 1), mac(body))) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof parsed.exp !== 'number' || parsed.exp * 1000 <= now()) return undefined;
      return parsed as T;
    } catch {
      return undefined;
    }
  };
  const cookieOptions = (maxAgeSeconds: number) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: options.secureCookies,
    path: '/',
    maxAge: maxAgeSeconds * 1000,
  });

  const auth: Auth = {
    adminTokenEnabled: Boolean(options.adminToken),
    githubEnabled: Boolean(options.oauth),

    viewer(req) {
      const header = req.headers.authorization;
      if (header !== undefined) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match || !options.adminToken || !sameSecret(match[1]!, options.adminToken)) {
          throw new UnauthenticatedError('the Bearer token is not the admin token');
        }
        return { login: 'admin', role: 'instructor', via: 'token' };
      }
      const session = unseal<SessionPayload>(readCookies(req)[SESSION_COOKIE]);
      if (!session || session.v !== 1 || (session.role !== 'instructor' && session.role !== 'student'))
        return undefined;
      return { login: session.login, role: session.role, via: 'session', csrf: session.csrf };
    },

    signIn(res, login, role) {
      const payload: SessionPayload = {
        v: 1,
        login: login.toLowerCase(),
        role,
        csrf: randomBytes(18).toString('base64url'),
        exp: Math.floor(now() / 1000) + SESSION_SECONDS,
      };
      res.cookie(SESSION_COOKIE, seal(payload), cookieOptions(SESSION_SECONDS));
      return { login: payload.login, role, via: 'session', csrf: payload.csrf };
    },

    signOut(res) {
      res.clearCookie(SESSION_COOKIE, { path: '/' });
    },

    adminTokenMatches(token) {
      return Boolean(options.adminToken) && sameSecret(token, options.adminToken!);
    },

    checkCsrf(req, viewer, given) {
      if (viewer?.via === 'token') return;
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host ?? ''}`) {
        throw new CsrfError('a request from another origin');
      }
      if (!viewer?.csrf || !given || !sameSecret(given, viewer.csrf)) throw new CsrfError();
    },

    signInFormToken(req, res) {
      const existing = unseal<{ token: string }>(readCookies(req)[SIGN_IN_COOKIE]);
      if (existing) return existing.token;
      const token = randomBytes(18).toString('base64url');
      res.cookie(SIGN_IN_COOKIE, seal({ token, exp: Math.floor(now() / 1000) + 3600 }), cookieOptions(3600));
      return token;
    },

    checkSignInFormToken(req, given) {
      const cookie = unseal<{ token: string }>(readCookies(req)[SIGN_IN_COOKIE]);
      if (!cookie || !given || !sameSecret(given, cookie.token))
        throw new CsrfError('the sign-in form expired; reload it');
    },

    githubAuthorizeUrl(res, callbackUrl, next) {
      if (!options.oauth) throw new OAuthError('Sign in with GitHub is not configured');
      const state = randomBytes(18).toString('base64url');
      res.cookie(OAUTH_STATE_COOKIE, seal({ state, next, exp: Math.floor(now() / 1000) + 600 }), cookieOptions(600));
      const url = new URL(`${options.oauth.webUrl}/login/oauth/authorize`);
      url.searchParams.set('client_id', options.oauth.clientId);
      url.searchParams.set('redirect_uri', callbackUrl);
      url.searchParams.set('state', state);
      url.searchParams.set('allow_signup', 'false');
      // Instructors named by team: the sign-in must be allowed to list the user's teams.
      if (instructorTeams(options.course).length > 0) url.searchParams.set('scope', 'read:org');
      return url.toString();
    },

    async githubCallback(req, res, callbackUrl) {
      const oauth = options.oauth;
      if (!oauth) throw new OAuthError('Sign in with GitHub is not configured');
      const saved = unseal<{ state: string; next: string }>(readCookies(req)[OAUTH_STATE_COOKIE]);
      res.clearCookie(OAUTH_STATE_COOKIE, { path: '/' });
      const state = typeof req.query.state === 'string' ? req.query.state : '';
      const code = typeof req.query.code === 'string' ? req.query.code : '';
      if (!saved || !state || !sameSecret(state, saved.state)) {
        throw new OAuthError('the sign-in expired or did not start here; try again');
      }
      if (!code) throw new OAuthError(`GitHub did not authorize the sign-in (${String(req.query.error ?? 'no code')})`);
      let token: string;
      try {
        const answer = await doFetch(`${oauth.webUrl}/login/oauth/access_token`, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            'user-agent': 'labgrader-dashboard',
          },
          body: JSON.stringify({
            client_id: oauth.clientId,
            client_secret: oauth.clientSecret,
            code,
            redirect_uri: callbackUrl,
          }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await answer.json()) as { access_token?: unknown; error?: unknown };
        if (!answer.ok || typeof body.access_token !== 'string') {
          throw new OAuthError(`GitHub refused the sign-in code (${String(body.error ?? answer.status)})`);
        }
        token = body.access_token;
      } catch (err) {
        if (err instanceof OAuthError) throw err;
        throw new OAuthError('GitHub could not be reached to finish the sign-in', { cause: err });
      }
      let login: string;
      try {
        const answer = await doFetch(`${oauth.apiUrl}/user`, {
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/vnd.github+json',
            'user-agent': 'labgrader-dashboard',
            'x-github-api-version': '2022-11-28',
          },
          signal: AbortSignal.timeout(10_000),
        });
        const user = (await answer.json()) as { login?: unknown };
        if (!answer.ok || typeof user.login !== 'string')
          throw new OAuthError(`GitHub did not say who signed in (${answer.status})`);
        login = user.login;
      } catch (err) {
        if (err instanceof OAuthError) throw err;
        throw new OAuthError('GitHub could not be reached to finish the sign-in', { cause: err });
      }
      // A team instructor is found through the user's own teams (GET /user/teams, read:org); if GitHub
      // will not say, the user is not taken for an instructor.
      let teams: { org: string; slug: string }[] | undefined;
      const memberOf = async (team: { org: string; slug: string }) => {
        teams ??= await userTeams(oauth, token, doFetch);
        return teams.some((t) => t.org === team.org.toLowerCase() && t.slug === team.slug.toLowerCase());
      };
      const instructor = await isInstructor(options.course, login, memberOf).catch(() => false);
      const role: Role = instructor ? 'instructor' : 'student';
      const next = saved.next.startsWith('/') && !saved.next.startsWith('//') ? saved.next : '/';
      return { viewer: auth.signIn(res, login, role), next };
    },
  };
  return auth;
}
