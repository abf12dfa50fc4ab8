/**
 * The read API's OpenAPI 3.0 document (served at /api/v1/openapi.json; the
 * API test validates the document and every answer it gets against it).
 */
import { SORT_KEYS } from './queries.js';

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const num: Schema = { type: 'number' };
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});

const jsonAnswer = (description: string, schema: Schema) => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = {
  '400': jsonAnswer('A malformed parameter, an unknown query parameter, a limit too large', ref('Error')),
  '401': jsonAnswer('Not signed in (no session cookie, or a wrong Bearer token)', ref('Error')),
};
const notFound = {
  '404': jsonAnswer('No such thing, or not yours (a student asking about another student)', ref('Error')),
};
const forbidden = { '403': jsonAnswer('For instructors only, or a POST without the CSRF token', ref('Error')) };

const labParam = {
  name: 'lab',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } };
const studentParam = {
  name: 'student',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,139}$' },
};

const summaryProperties: Record<string, Schema> = {
  id: str,
  jobId: str,
  event: { type: 'string', enum: ['push', 'pull_request', 'rerun', 'regrade'] },
  labId: str,
  labTitle: str,
  student: str,
  reason: str,
  deadline: { type: 'object', properties: { status: str }, required: ['status'], additionalProperties: true },
  clusterRan: bool,
  repository: str,
  owner: str,
  commit: str,
  rubricId: str,
  rubricDigest: str,
  status: { type: 'string', enum: ['graded', 'not-gradable'] },
  notGradableReason: str,
  points: num,
  maxPoints: num,
  percent: num,
  rubricMaxPoints: num,
  author: str,
  pushedAt: time,
  meta: { type: 'object', additionalProperties: true },
  firstGradedAt: time,
  gradedAt: time,
  gradeCount: int,
};
const summaryRequired = [
  'id',
  'jobId',
  'event',
  'labId',
  'student',
  'clusterRan',
  'repository',
  'owner',
  'commit',
  'rubricId',
  'status',
  'points',
  'maxPoints',
  'percent',
  'pushedAt',
  'gradedAt',
  'gradeCount',
];

const schemas: Record<string, Schema> = {
  Error: obj({ error: str, problems: { type: 'array', items: str } }, ['error']),
  Me: obj({ login: str, role: { type: 'string', enum: ['instructor', 'student'] }, via: str, csrf: str }, [
    'login',
    'role',
    'via',
  ]),
  Lab: obj(
    {
      id: str,
      title: str,
      configured: bool,
      deadline: time,
      timeZone: str,
      students: int,
      gradings: int,
      lastPushedAt: time,
    },
    ['id', 'title', 'configured', 'students', 'gradings'],
  ),
  CriterionScore: obj({ id: str, points: num, maxPoints: num, status: str }),
  LiveStatus: obj({ state: str, stage: str, jobId: str, commit: str, at: time }, ['state', 'jobId', 'at']),
  OverviewRow: obj(
    {
      student: str,
      name: str,
      repository: str,
      gradingId: str,
      latestGradingId: str,
      status: { type: 'string', enum: ['graded', 'not-gradable'] },
      notGradableReason: str,
      points: num,
      maxPoints: num,
      percent: num,
      criteria: { type: 'array', items: ref('CriterionScore') },
      findings: int,
      deadline: { type: 'string', nullable: true },
      late: bool,
      latestNotAccepted: bool,
      submissions: int,
      gradings: int,
      pushedAt: time,
      gradedAt: time,
      commit: str,
      live: ref('LiveStatus'),
    },
    [
      'student',
      'repository',
      'gradingId',
      'latestGradingId',
      'status',
      'points',
      'maxPoints',
      'percent',
      'criteria',
      'findings',
      'deadline',
      'late',
      'latestNotAccepted',
      'submissions',
      'gradings',
      'pushedAt',
      'gradedAt',
      'commit',
    ],
  ),
  Overview: obj(
    {
      lab: ref('Lab'),
      criteria: { type: 'array', items: obj({ id: str, title: str }, ['id']) },
      total: int,
      items: { type: 'array', items: ref('OverviewRow') },
      nextCursor: str,
    },
    ['lab', 'criteria', 'total', 'items'],
  ),
  GradingSummary: { type: 'object', properties: summaryProperties, required: summaryRequired },
  ScoredGradingSummary: {
    type: 'object',
    properties: { ...summaryProperties, criteria: { type: 'array', items: ref('CriterionScore') }, findingCount: int },
    required: [...summaryRequired, 'criteria', 'findingCount'],
  },
  Grading: obj({
    grading: ref('GradingSummary'),
    report: { type: 'object', description: 'The report (https://labgrader.dev/schemas/report/v1.json)' },
    excerpts: {
      type: 'object',
      nullable: true,
      description:
        'The source lines around the findings, secrets redacted, as the worker kept them (null for gradings from before they were kept)',
      properties: {
        version: { type: 'integer', enum: [1] },
        excerpts: {
          type: 'array',
          items: obj({ file: str, startLine: int, lines: { type: 'array', items: str } }),
        },
        omitted: int,
      },
      required: ['version', 'excerpts', 'omitted'],
    },
    regrades: { type: 'array', items: ref('GradingSummary') },
  }),
  Statistics: obj(
    {
      scores: { type: 'array', items: obj({ student: str, percent: num }) },
      criteria: { type: 'array', items: obj({ id: str, passed: int, partial: int, failed: int, other: int }) },
      checks: {
        type: 'array',
        items: obj({ criterion: str, id: str, gradings: int, allPassed: int, examined: int, passed: int }),
      },
      recoveries: { type: 'array', items: obj({ drill: str, seconds: num, gradingId: str }) },
      pushes: { type: 'array', items: obj({ hour: time, pushes: int, late: int }) },
      deadline: time,
    },
    ['scores', 'criteria', 'checks', 'recoveries', 'pushes'],
  ),
  ExportRow: obj(
    {
      githubLogin: str,
      name: str,
      email: str,
      studentId: str,
      criteria: { type: 'object', additionalProperties: num },
      total: num,
      maxPoints: num,
      percent: num,
      late: bool,
      deadlineStatus: { type: 'string', nullable: true },
      submittedAt: time,
      commit: str,
      repository: str,
      gradingId: str,
    },
    [
      'githubLogin',
      'criteria',
      'total',
      'maxPoints',
      'percent',
      'late',
      'deadlineStatus',
      'submittedAt',
      'commit',
      'repository',
      'gradingId',
    ],
  ),
  FindingRef: obj({ checkId: str, severity: str, message: str, file: str, line: int }, [
    'checkId',
    'severity',
    'message',
  ]),
  Diff: obj({
    from: ref('GradingSummary'),
    to: ref('GradingSummary'),
    fixed: { type: 'array', items: ref('FindingRef') },
    added: { type: 'array', items: ref('FindingRef') },
    unchanged: int,
    criteria: { type: 'array', items: obj({ id: str, from: num, to: num, maxPoints: num }, ['id', 'maxPoints']) },
  }),
  RegradeOutcome: obj({
    items: {
      type: 'array',
      items: obj({ gradingId: str, jobId: str, status: { type: 'string', enum: ['queued', 'duplicate', 'requeued'] } }),
    },
  }),
};

const q = (name: string, schema: Schema, description: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  description,
});

const regradeOperation = (summaryText: string, params: unknown[]) => ({
  summary: summaryText,
  description:
    'Instructors only. With a session cookie the CSRF token (GET /api/v1/me `csrf`) goes in `X-CSRF-Token` or a `_csrf` form field; with the admin Bearer token none is needed.',
  parameters: params,
  responses: {
    '202': jsonAnswer('Queued (one forced `regrade` job per grading)', ref('RegradeOutcome')),
    ...errors,
    ...forbidden,
    ...notFound,
    '503': jsonAnswer('No grade queue', ref('Error')),
  },
});

/** `GET /labs/{lab}/overview` → `getLabsLabOverview`: every operation named, as clients and validators need. */
function withOperationIds(paths: Record<string, Record<string, Record<string, unknown>>>) {
  for (const [route, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const words = route.split(/[^A-Za-z0-9]+/).filter(Boolean);
      operation.operationId = method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
    }
  }
  return paths;
}

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'labgrader dashboard read API',
      version: '1',
      description:
        'Grades of a course, read-only but for regrades. Authenticate with the dashboard session cookie (Sign in with GitHub) or `Authorization: Bearer <LABGRADER_ADMIN_TOKEN>` (instructor). A student only ever sees their own gradings: anything else is 404. Without a course configuration each rubric is a lab and each repository owner a student.',
    },
    servers: [{ url: '/api/v1' }],
    components: {
      schemas,
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'lg_session' },
      },
    },
    security: [{ adminToken: [] }, { session: [] }],
    paths: withOperationIds({
      '/me': {
        get: { summary: 'Who is signed in', responses: { '200': jsonAnswer('The viewer', ref('Me')), ...errors } },
      },
      '/labs': {
        get: {
          summary: 'Labs (the course configuration’s, and every lab with gradings)',
          responses: {
            '200': jsonAnswer('Labs', obj({ items: { type: 'array', items: ref('Lab') } })),
            ...errors,
          },
        },
      },
      '/labs/{lab}/overview': {
        get: {
          summary: 'Each student’s counting grading, with criterion scores, late flag, submissions and live status',
          parameters: [
            labParam,
            q('sort', { type: 'string', enum: [...SORT_KEYS], default: 'student' }, 'Sort key'),
            q('order', { type: 'string', enum: ['asc', 'desc'] }, 'Default: asc for student, desc otherwise'),
            q('status', { type: 'string', enum: ['graded', 'not-gradable'] }, 'Only these'),
            q('late', { type: 'string', enum: ['true', 'false'] }, 'Only late (or on-time) counting gradings'),
            q('q', { type: 'string', maxLength: 100 }, 'Substring of login, name or repository'),
            q('limit', { type: 'integer', minimum: 1, maximum: 500, default: 100 }, 'Rows per page'),
            q('cursor', { type: 'string', pattern: '^[0-9]{1,6}$' }, 'nextCursor of the previous page'),
          ],
          responses: {
            '200': jsonAnswer('A page of the overview', ref('Overview')),
            ...errors,
            ...forbidden,
            ...notFound,
          },
        },
      },
      '/labs/{lab}/statistics': {
        get: {
          summary: 'Score distribution, pass rates per criterion and check, recovery times, pushes per hour',
          parameters: [labParam],
          responses: { '200': jsonAnswer('Statistics', ref('Statistics')), ...errors, ...forbidden, ...notFound },
        },
      },
      '/labs/{lab}/grades.csv': {
        get: {
          summary: 'The lab’s grades as CSV, one row per student (columns: docs/dashboard.md)',
          parameters: [
            labParam,
            q(
              'format',
              { type: 'string', enum: ['moodle', 'canvas'], default: 'moodle' },
              'moodle: labgrader’s columns (Moodle’s CSV import maps them); canvas: Canvas’s gradebook import (Student, ID, SIS User ID, SIS Login ID, Section, the lab, a Points Possible row)',
            ),
            q(
              'canvasAssignment',
              { type: 'string', pattern: '^[0-9]{1,18}$' },
              'With format=canvas: the Canvas assignment id to fill (its column becomes `Title (id)`); without it Canvas creates an assignment',
            ),
          ],
          responses: {
            '200': { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
            ...errors,
            ...forbidden,
            ...notFound,
          },
        },
      },
      '/labs/{lab}/grades.json': {
        get: {
          summary: 'The lab’s grades as JSON',
          parameters: [labParam],
          responses: {
            '200': jsonAnswer(
              'Grades',
              obj({
                lab: ref('Lab'),
                criteria: { type: 'array', items: obj({ id: str }, ['id']) },
                rows: { type: 'array', items: ref('ExportRow') },
              }),
            ),
            ...errors,
            ...forbidden,
            ...notFound,
          },
        },
      },
      '/labs/{lab}/regrade': {
        post: regradeOperation('Regrade the latest push of every student of the lab', [labParam]),
      },
      '/gradings/{id}': {
        get: {
          summary: 'One grading: summary, the full report, and every grading of its commit (old and new scores)',
          parameters: [idParam],
          responses: { '200': jsonAnswer('The grading', ref('Grading')), ...errors, ...notFound },
        },
      },
      '/gradings/{id}/report.json': {
        get: {
          summary: 'The report (labgrader report schema v1)',
          parameters: [idParam],
          responses: { '200': jsonAnswer('Report', { type: 'object' }), ...errors, ...notFound },
        },
      },
      '/gradings/{id}/report.sarif': {
        get: {
          summary: 'The report as SARIF 2.1.0',
          parameters: [idParam],
          responses: {
            '200': { description: 'SARIF', content: { 'application/sarif+json': { schema: { type: 'object' } } } },
            ...errors,
            ...notFound,
          },
        },
      },
      '/gradings/{id}/regrade': { post: regradeOperation('Regrade this grading’s commit', [idParam]) },
      '/students/{student}/gradings': {
        get: {
          summary: 'A student’s gradings, newest push first',
          parameters: [
            studentParam,
            q('lab', { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }, 'Only this lab'),
            q('limit', { type: 'integer', minimum: 1, maximum: 500, default: 100 }, 'At most'),
          ],
          responses: {
            '200': jsonAnswer(
              'Gradings',
              obj({
                student: str,
                name: { type: 'string', nullable: true },
                items: { type: 'array', items: ref('ScoredGradingSummary') },
              }),
            ),
            ...errors,
            ...notFound,
          },
        },
      },
      '/students/{student}/diff': {
        get: {
          summary: 'What changed between two of a student’s gradings: findings fixed, findings new, criterion scores',
          parameters: [
            studentParam,
            { name: 'from', in: 'query', required: true, schema: idParam.schema },
            { name: 'to', in: 'query', required: true, schema: idParam.schema },
          ],
          responses: { '200': jsonAnswer('The difference', ref('Diff')), ...errors, ...notFound },
        },
      },
      '/events': {
        get: {
          summary:
            'Server-sent events `status`: a grading queued, at a stage, finished (JSON: lab, student, state, stage, jobId)',
          parameters: [q('lab', { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }, 'Only this lab')],
          responses: {
            '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors,
            '429': jsonAnswer(
              'Too many streams open for this session or address (see Retry-After); close other tabs',
              ref('Error'),
            ),
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': jsonAnswer('OpenAPI 3.0', { type: 'object' }) },
        },
      },
    }),
  };
}
