/**
 * The read API, `/api/v1/…` (documented by openapi.ts, served at
 * `/api/v1/openapi.json`); the pages use the same functions.
 *
 *   GET  /api/v1/me                               who is signed in
 *   GET  /api/v1/labs                             labs with counts
 *   GET  /api/v1/labs/{lab}/overview              students × criteria (sort, order, status, late, q, limit, cursor)
 *   GET  /api/v1/labs/{lab}/statistics            what the charts show
 *   GET  /api/v1/labs/{lab}/grades.csv|.json      the export
 *   POST /api/v1/labs/{lab}/regrade               the latest push of every student, again
 *   GET  /api/v1/gradings/{id}                    one grading (summary, report, regrade history)
 *   GET  /api/v1/gradings/{id}/report.json|.sarif the report as a file
 *   POST /api/v1/gradings/{id}/regrade            this commit, again
 *   GET  /api/v1/students/{student}/gradings      a student's gradings (lab, limit)
 *   GET  /api/v1/students/{student}/diff          findings fixed and new between two gradings (from, to)
 *   GET  /api/v1/events                           server-sent events: live grading status
 */
import express, { type Request, type Response } from 'express';
import { formatSarif } from '@labgrader/report';
import type { CourseConfig } from '@labgrader/course';
import type { DashboardStore, ReportStore, StoredReportSummary } from '@labgrader/store';
import type { Auth, Viewer } from './auth.js';
import { UnauthenticatedError } from './auth.js';
import { ForbiddenError, type DashboardData } from './data.js';
import { exportRows, toCanvasCsv, toCsv } from './export.js';
import type { LiveFeed } from './live.js';
import { openApiDocument } from './openapi.js';
import {
  BadRequestError,
  diffQuerySchema,
  gradesCsvQuerySchema,
  gradingIdParam,
  labIdParam,
  noQuerySchema,
  overviewQuerySchema,
  parseOrThrow,
  queryOverview,
  studentGradingsQuerySchema,
  studentParam,
} from './queries.js';
import type { Regrader } from './regrade.js';

/** A regrade was asked for but this dashboard has no queue. */
export class RegradeUnavailableError extends Error {
  constructor() {
    super('regrades need the grade queue (REDIS_URL), which this dashboard is not connected to');
    this.name = 'RegradeUnavailableError';
  }
}

export interface ApiContext {
  store: ReportStore & DashboardStore;
  data: DashboardData;
  auth: Auth;
  course: CourseConfig;
  regrader?: Regrader;
  live?: LiveFeed;
  /** Caps on concurrent server-sent event streams (default: 6 a session, 30 an IP address). */
  eventStreams?: Partial<StreamLimits>;
}

export interface StreamLimits {
  /** Open `/events` streams one signed-in session (or the admin token) may hold. */
  perSession: number;
  /** Open `/events` streams one client address may hold, whoever is signed in. */
  perAddress: number;
}

/**
 * Counts the open event streams by session and by address: each holds a connection and a live-feed
 * subscription until the client goes, so a page opened in many tabs (or a script) cannot pile them up.
 */
export function streamLimiter(limits: Partial<StreamLimits>): {
  open(viewer: Viewer, address: string): { ok: true; release: () => void } | { ok: false; reason: string };
  readonly counts: { sessions: ReadonlyMap<string, number>; addresses: ReadonlyMap<string, number> };
} {
  const perSession = limits.perSession ?? 6;
  const perAddress = limits.perAddress ?? 30;
  const sessions = new Map<string, number>();
  const addresses = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };
  return {
    counts: { sessions, addresses },
    open(viewer, address) {
      // A session is its CSRF token (one per sign-in); the admin token's requests share one.
      const session = `${viewer.via}:${viewer.login}:${viewer.csrf ?? ''}`;
      if ((sessions.get(session) ?? 0) >= perSession) {
        return {
          ok: false,
          reason: `too many live-update streams for this session (at most ${perSession} open at once): close other tabs`,
        };
      }
      if ((addresses.get(address) ?? 0) >= perAddress) {
        return {
          ok: false,
          reason: `too many live-update streams from this address (at most ${perAddress} open at once)`,
        };
      }
      bump(sessions, session, 1);
      bump(addresses, address, 1);
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          bump(sessions, session, -1);
          bump(addresses, address, -1);
        },
      };
    },
  };
}

/** Strips the report: what lists and histories return. */
export function summary(g: StoredReportSummary & { report?: unknown; excerpts?: unknown }): StoredReportSummary {
  const { report: _report, excerpts: _excerpts, ...rest } = g;
  return rest;
}

export function requireViewer(auth: Auth, req: Request): Viewer {
  const viewer = auth.viewer(req);
  if (!viewer) throw new UnauthenticatedError();
  return viewer;
}

const csrfOf = (req: Request): string | undefined => {
  const header = req.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  const body = req.body as { _csrf?: unknown } | undefined;
  return typeof body?._csrf === 'string' ? body._csrf : undefined;
};

export function apiRouter(ctx: ApiContext): express.Router {
  const { data, auth, store } = ctx;
  const router = express.Router();
  const streams = streamLimiter(ctx.eventStreams ?? {});
  const json = (res: Response, body: unknown, status = 200) => {
    res.status(status).set('cache-control', 'private, no-store').json(body);
  };
  const noQuery = (req: Request) => parseOrThrow(noQuerySchema, req.query, 'query');
  const lab = (req: Request) => parseOrThrow(labIdParam, req.params.lab, 'path lab');
  const gradingId = (req: Request) => parseOrThrow(gradingIdParam, req.params.id, 'path id');
  const instructor = (viewer: Viewer, what: string) => {
    if (viewer.role !== 'instructor') throw new ForbiddenError(`${what} is for instructors`);
  };

  router.get('/openapi.json', (req, res) => {
    noQuery(req);
    res.set('cache-control', 'public, max-age=300').json(openApiDocument());
  });

  router.get('/me', (req, res) => {
    noQuery(req);
    const viewer = requireViewer(auth, req);
    json(res, {
      login: viewer.login,
      role: viewer.role,
      via: viewer.via,
      ...(viewer.csrf ? { csrf: viewer.csrf } : {}),
    });
  });

  router.get('/labs', async (req, res) => {
    noQuery(req);
    json(res, { items: await data.labs(requireViewer(auth, req)) });
  });

  router.get('/labs/:lab/overview', async (req, res) => {
    const viewer = requireViewer(auth, req);
    const labId = lab(req);
    const q = parseOrThrow(overviewQuerySchema, req.query, 'query');
    const overview = await data.overview(viewer, labId);
    json(res, { lab: overview.lab, criteria: overview.criteria, ...queryOverview(overview, q) });
  });

  router.get('/labs/:lab/statistics', async (req, res) => {
    noQuery(req);
    const viewer = requireViewer(auth, req);
    json(res, (await data.charts(viewer, lab(req))).charts);
  });

  router.get('/labs/:lab/grades.csv', async (req, res) => {
    const q = parseOrThrow(gradesCsvQuerySchema, req.query, 'query');
    const viewer = requireViewer(auth, req);
    const overview = await data.overview(viewer, lab(req));
    const rows = exportRows(overview, ctx.course);
    const canvas = q.format === 'canvas';
    res
      .status(200)
      .set('cache-control', 'private, no-store')
      .set('content-disposition', `attachment; filename="${overview.lab.id}-grades${canvas ? '-canvas' : ''}.csv"`)
      .type('text/csv; charset=utf-8')
      .send(
        canvas
          ? toCanvasCsv(overview, rows, q.canvasAssignment ? { assignmentId: q.canvasAssignment } : {})
          : toCsv(overview, rows),
      );
  });

  router.get('/labs/:lab/grades.json', async (req, res) => {
    noQuery(req);
    const viewer = requireViewer(auth, req);
    const overview = await data.overview(viewer, lab(req));
    res.set('content-disposition', `attachment; filename="${overview.lab.id}-grades.json"`);
    json(res, { lab: overview.lab, criteria: overview.criteria, rows: exportRows(overview, ctx.course) });
  });

  router.get('/gradings/:id', async (req, res) => {
    noQuery(req);
    const viewer = requireViewer(auth, req);
    const grading = await data.grading(viewer, gradingId(req));
    const history = await data.regrades(viewer, grading);
    json(res, {
      grading: summary(grading),
      report: grading.report,
      excerpts: grading.excerpts ?? null,
      regrades: history.map(summary),
    });
  });

  router.get('/gradings/:id/report.json', async (req, res) => {
    noQuery(req);
    const grading = await data.grading(requireViewer(auth, req), gradingId(req));
    res.set('content-disposition', `attachment; filename="report-${grading.id}.json"`);
    json(res, grading.report);
  });

  router.get('/gradings/:id/report.sarif', async (req, res) => {
    noQuery(req);
    const grading = await data.grading(requireViewer(auth, req), gradingId(req));
    res
      .set('content-disposition', `attachment; filename="report-${grading.id}.sarif"`)
      .set('cache-control', 'private, no-store')
      .type('application/sarif+json')
      .send(JSON.stringify(formatSarif(grading.report), null, 2));
  });

  router.get('/students/:student/gradings', async (req, res) => {
    const viewer = requireViewer(auth, req);
    const student = parseOrThrow(studentParam, req.params.student, 'path student');
    const q = parseOrThrow(studentGradingsQuerySchema, req.query, 'query');
    const items = await data.studentGradings(viewer, student, q.lab, q.limit);
    json(res, { student: student.toLowerCase(), name: data.nameOf(student) ?? null, items: items.map(summary) });
  });

  router.get('/students/:student/diff', async (req, res) => {
    const viewer = requireViewer(auth, req);
    const student = parseOrThrow(studentParam, req.params.student, 'path student');
    const q = parseOrThrow(diffQuerySchema, req.query, 'query');
    const diff = await data.diff(viewer, q.from, q.to);
    if (data.subjectOf(diff.from) !== student.toLowerCase() || data.subjectOf(diff.to) !== student.toLowerCase()) {
      throw new BadRequestError(['query from, to: both gradings must be this student’s']);
    }
    json(res, { ...diff, from: summary(diff.from), to: summary(diff.to) });
  });

  router.post('/gradings/:id/regrade', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const viewer = requireViewer(auth, req);
    auth.checkCsrf(req, viewer, csrfOf(req));
    instructor(viewer, 'regrading');
    if (!ctx.regrader) throw new RegradeUnavailableError();
    const grading = await data.grading(viewer, gradingId(req));
    json(res, { items: await ctx.regrader.regrade(viewer, [grading]) }, 202);
  });

  router.post('/labs/:lab/regrade', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const viewer = requireViewer(auth, req);
    auth.checkCsrf(req, viewer, csrfOf(req));
    instructor(viewer, 'regrading');
    if (!ctx.regrader) throw new RegradeUnavailableError();
    const overview = await data.overview(viewer, lab(req));
    const latest = await Promise.all(overview.rows.map((r) => store.getById(r.latestGradingId)));
    const gradings = latest.filter((g): g is NonNullable<typeof g> => g !== undefined);
    json(res, { items: await ctx.regrader.regrade(viewer, gradings) }, 202);
  });

  router.get('/events', (req, res) => {
    const viewer = requireViewer(auth, req);
    const q = parseOrThrow(noQuerySchema.extend({ lab: labIdParam.optional() }).strict(), req.query, 'query') as {
      lab?: string;
    };
    const slot = streams.open(viewer, req.ip ?? 'unknown');
    if (!slot.ok) {
      res.status(429).set('retry-after', '10').set('cache-control', 'private, no-store').json({ error: slot.reason });
      return;
    }
    res.on('close', slot.release);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(`retry: 3000\n: ${ctx.live ? 'live' : 'no live feed (no Redis)'}\n\n`);
    const own = viewer.login.toLowerCase();
    const unsubscribe = ctx.live?.subscribe((event) => {
      if (q.lab && event.lab !== q.lab) return;
      if (viewer.role !== 'instructor' && event.student !== own) return;
      res.write(`event: status\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
    req.on('close', () => {
      clearInterval(ping);
      unsubscribe?.();
    });
  });

  return router;
}
