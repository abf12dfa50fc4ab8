/**
 * The dashboard's HTTP surface on express: the pages, sign-in, the read API
 * (api.ts) and the bundled assets. Errors become a status and a short
 * message (JSON under /api, a page elsewhere), never a stack trace.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { UsageError, type Logger } from '@labgrader/core';
import type { CourseConfig } from '@labgrader/course';
import type { DashboardStore, ReportStore } from '@labgrader/store';
import { QueueUnavailableError } from '@labgrader/queue';
import { apiRouter, RegradeUnavailableError, requireViewer, type StreamLimits } from './api.js';
import { CsrfError, OAuthError, UnauthenticatedError, type Auth, type Viewer } from './auth.js';
import { ForbiddenError, NotFoundError, createDashboardData } from './data.js';
import type { LiveFeed } from './live.js';
import {
  chartsHtml,
  errorPage,
  labsPage,
  overviewPage,
  signInPage,
  studentPage,
  submissionPage,
  type PageContext,
} from './pages.js';
import {
  BadRequestError,
  diffQuerySchema,
  gradingIdParam,
  labIdParam,
  overviewQuerySchema,
  parseOrThrow,
  queryOverview,
  studentParam,
} from './queries.js';
import type { Regrader } from './regrade.js';
import type { Html } from './html.js';
import { z } from 'zod';

export interface DashboardDeps {
  store: ReportStore & DashboardStore;
  course: CourseConfig;
  auth: Auth;
  logger: Logger;
  githubWebUrl: string;
  /** Where browsers reach the dashboard (the OAuth callback); default: the request's own host. */
  publicUrl?: string;
  regrader?: Regrader;
  live?: LiveFeed;
  /** Caps on concurrent live-update streams (api.ts streamLimiter). */
  eventStreams?: Partial<StreamLimits>;
}

/** dist/assets after `npm run build`; the sources (assets/) when run from src by the tests. */
function assetsDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.join(here, 'assets');
  return existsSync(path.join(built, 'dashboard.js')) ? built : path.join(here, '..', 'assets');
}

const nextParam = z
  .string()
  .max(500)
  .regex(/^\/(?!\/)[^\s\\]*$/, 'must be a path on this site')
  .catch('/');

export function createDashboardApp(deps: DashboardDeps): express.Express {
  const { auth, logger } = deps;
  const log = logger.child({ component: 'dashboard' });
  const data = createDashboardData({
    store: deps.store,
    course: deps.course,
    ...(deps.live ? { live: deps.live } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', 'loopback');

  app.use((_req, res, next) => {
    res.set({
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self' " +
        (deps.publicUrl ?? '') +
        ' ' +
        new URL(deps.githubWebUrl).origin +
        "; frame-ancestors 'none'; base-uri 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    });
    next();
  });

  app.use('/assets', express.static(assetsDirectory(), { index: false, maxAge: '1h', fallthrough: false }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(
    '/api/v1',
    apiRouter({
      store: deps.store,
      data,
      auth,
      course: deps.course,
      ...(deps.regrader ? { regrader: deps.regrader } : {}),
      ...(deps.live ? { live: deps.live } : {}),
      ...(deps.eventStreams ? { eventStreams: deps.eventStreams } : {}),
    }),
  );
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  /** The overview's charts by lab, rendered again only when the lab's gradings change (labVersion). */
  const chartCache = new Map<string, { version: string; html: Html }>();
  const ctxOf = (viewer: Viewer | undefined, title: string): PageContext => ({
    ...(viewer ? { viewer } : {}),
    title,
    githubWebUrl: deps.githubWebUrl,
  });
  const callbackUrl = (req: Request) =>
    `${deps.publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost'}`}/auth/github/callback`;
  const sendPage = (res: Response, page: string, status = 200) => {
    res.status(status).set('cache-control', 'private, no-store').type('html').send(page);
  };
  /** A page's viewer, or a redirect to sign-in. */
  const pageViewer = (req: Request, res: Response): Viewer | undefined => {
    const viewer = auth.viewer(req);
    if (!viewer) res.redirect(303, `/sign-in?next=${encodeURIComponent(req.originalUrl)}`);
    return viewer;
  };

  app.get('/sign-in', (req, res) => {
    const next = nextParam.parse(req.query.next);
    const formToken = auth.signInFormToken(req, res);
    sendPage(
      res,
      signInPage(ctxOf(undefined, 'Sign in'), {
        formToken,
        next,
        admin: auth.adminTokenEnabled,
        github: auth.githubEnabled,
      }),
    );
  });

  app.post('/sign-in', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = nextParam.parse(body.next);
    auth.checkSignInFormToken(req, typeof body._csrf === 'string' ? body._csrf : undefined);
    if (typeof body.token !== 'string' || !auth.adminTokenMatches(body.token)) {
      log.warn('admin sign-in refused', { ip: req.ip });
      const formToken = auth.signInFormToken(req, res);
      sendPage(
        res,
        signInPage(ctxOf(undefined, 'Sign in'), {
          formToken,
          next,
          admin: auth.adminTokenEnabled,
          github: auth.githubEnabled,
          error: 'That is not the admin token.',
        }),
        401,
      );
      return;
    }
    auth.signIn(res, 'admin', 'instructor');
    log.info('signed in', { login: 'admin', via: 'admin token' });
    res.redirect(303, next);
  });

  app.get('/auth/github', (req, res) => {
    const next = nextParam.parse(req.query.next);
    res.redirect(302, auth.githubAuthorizeUrl(res, callbackUrl(req), next));
  });

  app.get('/auth/github/callback', async (req, res) => {
    const { viewer, next } = await auth.githubCallback(req, res, callbackUrl(req));
    log.info('signed in', { login: viewer.login, role: viewer.role, via: 'github' });
    res.redirect(303, next);
  });

  app.post('/sign-out', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const viewer = auth.viewer(req);
    if (viewer) auth.checkCsrf(req, viewer, (req.body as { _csrf?: string } | undefined)?._csrf);
    auth.signOut(res);
    res.redirect(303, '/sign-in');
  });

  app.get('/', async (req, res) => {
    const viewer = pageViewer(req, res);
    if (!viewer) return;
    sendPage(res, labsPage(ctxOf(viewer, 'Labs'), await data.labs(viewer)));
  });

  app.get('/labs/:lab', async (req, res) => {
    const viewer = pageViewer(req, res);
    if (!viewer) return;
    const labId = parseOrThrow(labIdParam, req.params.lab, 'path lab');
    const q = parseOrThrow(
      overviewQuerySchema,
      Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== '')),
      'query',
    );
    const [overview, { version, charts: numbers }] = await Promise.all([
      data.overview(viewer, labId),
      data.charts(viewer, labId),
    ]);
    let cached = chartCache.get(labId);
    if (!cached || cached.version !== version) {
      cached = { version, html: chartsHtml(numbers) };
      chartCache.set(labId, cached);
      if (chartCache.size > 200) chartCache.delete(chartCache.keys().next().value!);
    }
    const charts = cached.html;
    sendPage(res, overviewPage(ctxOf(viewer, overview.lab.title), overview, queryOverview(overview, q), q, charts));
  });

  app.get('/gradings/:id', async (req, res) => {
    const viewer = pageViewer(req, res);
    if (!viewer) return;
    const grading = await data.grading(viewer, parseOrThrow(gradingIdParam, req.params.id, 'path id'));
    const regrades = await data.regrades(viewer, grading);
    sendPage(
      res,
      submissionPage(ctxOf(viewer, `${grading.repository} ${grading.commit.slice(0, 7)}`), { grading, regrades }),
    );
  });

  app.get('/students/:student', async (req, res) => {
    const viewer = pageViewer(req, res);
    if (!viewer) return;
    const student = parseOrThrow(studentParam, req.params.student, 'path student').toLowerCase();
    const query = Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== ''));
    const labId = query.lab === undefined ? undefined : parseOrThrow(labIdParam, query.lab, 'query lab');
    const gradings = await data.studentGradings(viewer, student, labId, 200);
    const wantsDiff = query.from !== undefined || query.to !== undefined;
    const ids = wantsDiff
      ? parseOrThrow(diffQuerySchema, { from: query.from, to: query.to }, 'query')
      : gradings.length >= 2
        ? { from: gradings[1]!.id, to: gradings[0]!.id }
        : undefined;
    const diff = ids ? await data.diff(viewer, ids.from, ids.to) : undefined;
    if (diff && (data.subjectOf(diff.from) !== student || data.subjectOf(diff.to) !== student)) {
      throw new BadRequestError(['query from, to: both gradings must be this student’s']);
    }
    const name = data.nameOf(student);
    sendPage(
      res,
      studentPage(ctxOf(viewer, student), {
        student,
        ...(name ? { name } : {}),
        ...(labId ? { labId } : {}),
        gradings,
        ...(diff ? { diff } : {}),
      }),
    );
  });

  // The forms' regrade actions (the script posts to the API instead and shows progress).
  app.post('/gradings/:id/regrade', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const viewer = requireViewer(auth, req);
    auth.checkCsrf(req, viewer, (req.body as { _csrf?: string } | undefined)?._csrf);
    if (viewer.role !== 'instructor') throw new ForbiddenError('regrading is for instructors');
    if (!deps.regrader) throw new RegradeUnavailableError();
    const id = parseOrThrow(gradingIdParam, req.params.id, 'path id');
    await deps.regrader.regrade(viewer, [await data.grading(viewer, id)]);
    res.redirect(303, `/gradings/${id}`);
  });

  app.post('/labs/:lab/regrade', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const viewer = requireViewer(auth, req);
    auth.checkCsrf(req, viewer, (req.body as { _csrf?: string } | undefined)?._csrf);
    if (!deps.regrader) throw new RegradeUnavailableError();
    const labId = parseOrThrow(labIdParam, req.params.lab, 'path lab');
    const overview = await data.overview(viewer, labId);
    const latest = await Promise.all(overview.rows.map((r) => deps.store.getById(r.latestGradingId)));
    await deps.regrader.regrade(
      viewer,
      latest.filter((g): g is NonNullable<typeof g> => g !== undefined),
    );
    res.redirect(303, `/labs/${labId}`);
  });

  app.use((req, res) => {
    sendPage(res, errorPage(ctxOf(undefined, 'Not found'), 404, `Nothing at ${req.path}.`), 404);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const api = req.originalUrl.startsWith('/api/');
    let status = 500;
    let message = 'internal error';
    let problems: readonly string[] | undefined;
    if (err instanceof BadRequestError) {
      status = 400;
      message = 'bad request';
      problems = err.problems;
    } else if (err instanceof UsageError) {
      status = 400;
      message = err.message;
    } else if (err instanceof UnauthenticatedError) {
      status = 401;
      message = err.message;
    } else if (err instanceof CsrfError || err instanceof ForbiddenError) {
      status = 403;
      message = err.message;
    } else if (err instanceof NotFoundError) {
      status = 404;
      message = err.message;
    } else if (err instanceof OAuthError) {
      status = 400;
      message = err.message;
      log.warn('GitHub sign-in failed', { error: err.message });
    } else if (err instanceof RegradeUnavailableError || err instanceof QueueUnavailableError) {
      status = 503;
      message = err.message;
    } else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500) {
      status = (err as { status: number }).status;
      message = status === 404 ? 'not found' : 'bad request';
    } else {
      log.error('request failed', { error: err, path: req.path });
    }
    if (api) {
      res.status(status).json({ error: message, ...(problems ? { problems } : {}) });
      return;
    }
    if (status === 401) {
      res.redirect(303, `/sign-in?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    sendPage(
      res,
      errorPage(ctxOf(undefined, message), status, problems ? `${message}: ${problems.join('; ')}` : message),
      status,
    );
  });

  return app;
}
