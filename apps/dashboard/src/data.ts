/**
 * The dashboard's view of the store: labs (course configuration and what was
 * graded), each lab's overview of students, a grading and who may see it,
 * a student's history and what changed between two gradings, and exports.
 * Every read takes the viewer: a student only ever reaches their own rows.
 */
import { withoutClusterDetails, type Report, type ReportFinding } from '@labgrader/core';
import { rosterEntry, showClusterDetails, type CourseConfig, type Lab } from '@labgrader/course';
import type {
  CriterionScore,
  DashboardStore,
  LabInfo,
  LabOverviewRow,
  ReportStore,
  StoredReport,
  StoredReportSummary,
  StudentKey,
} from '@labgrader/store';
import type { Viewer } from './auth.js';
import { labCharts, type LabCharts } from './queries.js';

/** The viewer may not read this (a student asking for a lab overview). */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Nothing here, or nothing this viewer may know exists. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export type LiveState = 'queued' | 'grading' | 'graded' | 'not-gradable' | 'failed' | 'superseded';

export interface LiveStatus {
  state: LiveState;
  stage?: string;
  jobId: string;
  commit?: string;
  at: string;
}

/** What the overview asks of the live feed (live.ts). */
export interface LiveStatusSource {
  statusOf(labId: string, student: string): LiveStatus | undefined;
}

export interface LabSummary {
  id: string;
  title: string;
  /** In the course configuration (else only seen in gradings: a rubric without a course). */
  configured: boolean;
  deadline?: string;
  timeZone?: string;
  students: number;
  gradings: number;
  lastPushedAt?: string;
}

export interface OverviewRow {
  student: string;
  name?: string;
  repository: string;
  /** The grading that counts (the latest the deadline accepted, else the latest). */
  gradingId: string;
  latestGradingId: string;
  status: 'graded' | 'not-gradable';
  notGradableReason?: string;
  points: number;
  maxPoints: number;
  percent: number;
  criteria: CriterionScore[];
  findings: number;
  /** The counting grading's deadline status (`on-time`, `late`, `not-accepted`), null without a deadline. */
  deadline: string | null;
  late: boolean;
  /** The latest push came after the late policy's cutoff (it does not count). */
  latestNotAccepted: boolean;
  submissions: number;
  gradings: number;
  pushedAt: string;
  gradedAt: string;
  commit: string;
  live?: LiveStatus;
}

export interface Overview {
  lab: LabSummary;
  /** Criterion ids in rubric order (the columns). */
  criteria: { id: string; title?: string }[];
  rows: OverviewRow[];
}

export interface FindingRef {
  checkId: string;
  severity: string;
  message: string;
  file?: string;
  line?: number;
}

export interface GradingDiff {
  from: StoredReportSummary;
  to: StoredReportSummary;
  fixed: FindingRef[];
  added: FindingRef[];
  unchanged: number;
  criteria: { id: string; from?: number; to?: number; maxPoints: number }[];
}

export interface DashboardData {
  readonly by: StudentKey;
  labs(viewer: Viewer): Promise<LabSummary[]>;
  lab(viewer: Viewer, labId: string): Promise<LabSummary>;
  overview(viewer: Viewer, labId: string): Promise<Overview>;
  /** What the charts show (GET …/statistics and the overview page), cached per version of the lab's gradings. */
  charts(viewer: Viewer, labId: string): Promise<{ version: string; charts: LabCharts }>;
  grading(viewer: Viewer, id: string): Promise<StoredReport>;
  /** The regrade history of this grading's commit, oldest first. */
  regrades(viewer: Viewer, grading: StoredReportSummary): Promise<StoredReportSummary[]>;
  studentGradings(
    viewer: Viewer,
    student: string,
    labId?: string,
    limit?: number,
  ): Promise<(StoredReportSummary & { criteria: CriterionScore[]; findingCount: number })[]>;
  diff(viewer: Viewer, fromId: string, toId: string): Promise<GradingDiff>;
  subjectOf(grading: StoredReportSummary): string;
  nameOf(student: string): string | undefined;
  courseLab(labId: string): Lab | undefined;
}

function findingKey(f: ReportFinding): string {
  return [f.checkId, f.location?.file ?? '', f.subject ?? '', f.message].join('\u0000');
}

function findingRef(f: ReportFinding): FindingRef {
  return {
    checkId: f.checkId,
    severity: f.severity,
    message: f.message,
    ...(f.location ? { file: f.location.file, line: f.location.line } : {}),
  };
}

const LATE = new Set(['late', 'not-accepted']);

export function createDashboardData(options: {
  store: ReportStore & DashboardStore;
  course: CourseConfig;
  live?: LiveStatusSource;
  /** The clock the lab's `showClusterDetails: after-deadline` is judged by. */
  now?: () => Date;
}): DashboardData {
  const { store, course } = options;
  const now = options.now ?? (() => new Date());
  // Without a course configuration each repository owner is a student.
  const by: StudentKey = course.configured ? 'student' : 'owner';
  const cache = new Map<string, { version: string; rows: LabOverviewRow[] }>();

  const subjectOf = (g: StoredReportSummary) => (by === 'owner' ? g.owner : g.student);
  const nameOf = (student: string) => rosterEntry(course, student)?.name;
  const courseLab = (labId: string) => (course.configured ? course.labs.find((l) => l.id === labId) : undefined);
  const mayRead = (viewer: Viewer, g: StoredReportSummary) =>
    viewer.role === 'instructor' || subjectOf(g) === viewer.login.toLowerCase();
  const instructorOnly = (viewer: Viewer, what: string) => {
    if (viewer.role !== 'instructor') throw new ForbiddenError(`${what} is for instructors`);
  };

  /** The labs with gradings, asked again only when a grading was added or replaced (labsVersion). */
  let labsCache: { version: string; labs: LabInfo[] } | undefined;
  async function gradedLabs(): Promise<LabInfo[]> {
    const version = await store.labsVersion();
    if (labsCache?.version === version) return labsCache.labs;
    const graded = await store.labs({ by });
    labsCache = { version, labs: graded };
    return graded;
  }
  /** Each lab's chart data, computed again only when the lab's gradings change (labVersion). */
  const chartsCache = new Map<string, { version: string; charts: Promise<LabCharts> }>();

  async function labs(): Promise<LabSummary[]> {
    const graded = await gradedLabs();
    const byId = new Map(graded.map((l) => [l.labId, l]));
    const out: LabSummary[] = [];
    const configured = course.configured ? course.labs : [];
    for (const lab of configured) {
      const g = byId.get(lab.id);
      byId.delete(lab.id);
      out.push({
        id: lab.id,
        title: lab.title ?? lab.id,
        configured: true,
        ...(lab.deadline ? { deadline: lab.deadline.at.toISOString() } : {}),
        timeZone: lab.timeZone,
        students: g?.students ?? 0,
        gradings: g?.gradings ?? 0,
        ...(g ? { lastPushedAt: g.lastPushedAt } : {}),
      });
    }
    for (const g of byId.values()) {
      out.push({
        id: g.labId,
        // Without a course configuration: the title the rubric gives itself.
        title: g.labTitle ?? g.rubricTitle ?? g.labId,
        configured: false,
        students: g.students,
        gradings: g.gradings,
        lastPushedAt: g.lastPushedAt,
      });
    }
    return out;
  }

  async function overviewRows(labId: string, known?: string): Promise<{ version: string; rows: LabOverviewRow[] }> {
    const version = known ?? (await store.labVersion(labId));
    const hit = cache.get(labId);
    if (hit && hit.version === version) return hit;
    const rows = await store.labOverview({ labId, by });
    cache.set(labId, { version, rows });
    if (cache.size > 200) cache.delete(cache.keys().next().value!);
    return { version, rows };
  }

  async function versionedOverview(viewer: Viewer, labId: string): Promise<{ version: string; overview: Overview }> {
    instructorOnly(viewer, "a lab's overview");
    const lab = await data.lab(viewer, labId);
    const { version, rows } = await overviewRows(labId);
    const criteria: { id: string; title?: string }[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      for (const c of (row.counting ?? row.latest).criteria) {
        if (!seen.has(c.id)) {
          seen.add(c.id);
          criteria.push({ id: c.id });
        }
      }
    }
    return {
      version,
      overview: {
        lab,
        criteria,
        rows: rows.map((row): OverviewRow => {
          const g = row.counting ?? row.latest;
          const live = options.live?.statusOf(labId, row.key);
          const name = nameOf(row.key);
          const deadline = g.deadline?.status ?? null;
          return {
            student: row.key,
            ...(name ? { name } : {}),
            repository: g.repository,
            gradingId: g.id,
            latestGradingId: row.latest.id,
            status: g.status,
            ...(g.notGradableReason ? { notGradableReason: g.notGradableReason } : {}),
            points: g.points,
            maxPoints: g.maxPoints,
            percent: g.percent,
            criteria: g.criteria,
            findings: g.findingCount,
            deadline,
            late: deadline !== null && LATE.has(deadline),
            latestNotAccepted: row.latest.deadline?.status === 'not-accepted',
            submissions: row.submissions,
            gradings: row.gradings,
            pushedAt: g.pushedAt,
            gradedAt: g.gradedAt,
            commit: g.commit,
            ...(live ? { live } : {}),
          };
        }),
      },
    };
  }

  const data: DashboardData = {
    by,
    subjectOf,
    nameOf,
    courseLab,

    async labs(viewer) {
      const all = await labs();
      if (viewer.role === 'instructor') return all;
      // A student sees the labs they have gradings in (and the configured ones), without class counts.
      const mine = new Set((await store.gradingsOf({ key: viewer.login, by, limit: 500 })).map((g) => g.labId));
      return all
        .filter((l) => l.configured || mine.has(l.id))
        .map(({ students: _s, gradings: _g, lastPushedAt: _l, ...rest }) => ({ ...rest, students: 0, gradings: 0 }));
    },

    async lab(viewer, labId) {
      const lab = (await data.labs(viewer)).find((l) => l.id === labId);
      if (!lab) throw new NotFoundError(`no lab '${labId}'`);
      return lab;
    },

    async overview(viewer, labId) {
      return (await versionedOverview(viewer, labId)).overview;
    },

    async charts(viewer, labId) {
      const { version, overview } = await versionedOverview(viewer, labId);
      let hit = chartsCache.get(labId);
      if (!hit || hit.version !== version) {
        // Concurrent requests for a new version share one computation; a failed one is not kept.
        const charts = labCharts(store, overview, by);
        hit = { version, charts };
        chartsCache.set(labId, hit);
        if (chartsCache.size > 200) chartsCache.delete(chartsCache.keys().next().value!);
        charts.catch(() => {
          if (chartsCache.get(labId)?.charts === charts) chartsCache.delete(labId);
        });
      }
      return { version, charts: await hit.charts };
    },

    async grading(viewer, id) {
      const g = await store.getById(id);
      if (!g || !mayRead(viewer, g)) throw new NotFoundError(`no grading ${id}`);
      // Before the deadline of a lab that says so, a student sees the cluster stage's points, not its details
      // (what GitHub shows them too); instructors always see everything.
      const lab = courseLab(g.labId);
      if (viewer.role !== 'instructor' && lab && !showClusterDetails(lab, now())) {
        return { ...g, report: withoutClusterDetails(g.report) };
      }
      return g;
    },

    async regrades(viewer, grading) {
      if (!mayRead(viewer, grading)) throw new NotFoundError(`no grading ${grading.id}`);
      return store.commitGradings({ repository: grading.repository, commit: grading.commit, labId: grading.labId });
    },

    async studentGradings(viewer, student, labId, limit) {
      const key = student.toLowerCase();
      if (viewer.role !== 'instructor' && key !== viewer.login.toLowerCase()) {
        throw new NotFoundError(`no student '${student}'`);
      }
      return store.gradingsOf({ key, by, ...(labId ? { labId } : {}), ...(limit ? { limit } : {}) });
    },

    async diff(viewer, fromId, toId) {
      const [from, to] = await Promise.all([data.grading(viewer, fromId), data.grading(viewer, toId)]);
      const before = new Map(from.report.findings.map((f) => [findingKey(f), f]));
      const after = new Map(to.report.findings.map((f) => [findingKey(f), f]));
      const fixed = [...before].filter(([k]) => !after.has(k)).map(([, f]) => findingRef(f));
      const added = [...after].filter(([k]) => !before.has(k)).map(([, f]) => findingRef(f));
      const ids = [...new Set([...from.report.criteria.map((c) => c.id), ...to.report.criteria.map((c) => c.id)])];
      const score = (r: Report, id: string) => r.criteria.find((c) => c.id === id);
      return {
        from,
        to,
        fixed,
        added,
        unchanged: [...after.keys()].filter((k) => before.has(k)).length,
        criteria: ids.map((id) => {
          const a = score(from.report, id);
          const b = score(to.report, id);
          return {
            id,
            ...(a ? { from: a.points } : {}),
            ...(b ? { to: b.points } : {}),
            maxPoints: b?.maxPoints ?? a?.maxPoints ?? 0,
          };
        }),
      };
    },
  };
  return data;
}

export { LATE as LATE_STATUSES };
