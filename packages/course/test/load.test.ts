import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@labgrader/core';
import {
  courseConfigSchema,
  describeLab,
  describeLatePolicy,
  loadCourseFile,
  parseCourseConfig,
  type ParseCourseOptions,
  type RubricResolver,
} from '@labgrader/course';

const root = new URL('../../../', import.meta.url).pathname;

/** Six lines; `labs:` is line 7 when a case appends it. */
const head = `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: k8s-prod
timeZone: Europe/Paris
instructors: [prof-martin]
`;

function problemsOf(text: string, options: ParseCourseOptions = {}): string[] {
  try {
    parseCourseConfig(text, 'course.yaml', options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected the course file to be rejected');
}

describe('parseCourseConfig: a valid course', () => {
  it('resolves the bundled example', async () => {
    const course = await loadCourseFile(path.join(root, 'courses/example.yaml'), {
      displayName: 'courses/example.yaml',
    });
    expect(course).toMatchObject({
      id: 'k8s-prod-2027',
      configured: true,
      organization: 'k8s-prod-2027',
      timeZone: 'Europe/Paris',
      instructors: [
        { kind: 'user', login: 'prof-martin' },
        { kind: 'team', org: 'k8s-prod-2027', slug: 'instructors' },
      ],
      ignore: ['*-template', '*-starter', 'course-site'],
      roster: [
        { login: 'alice', name: 'Alice Martin', studentId: '2027001' },
        { login: 'bob-the-builder', name: 'Bob Durand', email: 'bob@example.edu' },
      ],
    });
    expect(course.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [lab85, checklist] = course.labs;
    expect(lab85).toEqual({
      id: 'lab-85',
      title: 'Lab 85: operating Kubernetes in production',
      rubric: { ref: 'lab-85', id: 'lab-85' },
      repositories: { kind: 'classroom', assignment: 'lab-85' },
      timeZone: 'Europe/Paris',
      // The night the clocks go forward in Paris: 23:59 is CEST, UTC+2.
      deadline: { at: new Date('2027-03-28T21:59:00Z'), local: '2027-03-28T23:59', timeZone: 'Europe/Paris' },
      latePolicy: {
        graceMinutes: 15,
        penaltyPercent: 0,
        penaltyPercentPerDay: 10,
        maxPenaltyPercent: 100,
        penaltyOf: 'max-points',
        cutoff: { maxDaysLate: 3 },
      },
      passPercent: 50,
      clusterBudget: { runs: 5, per: 'day' },
      showClusterDetails: 'after-deadline',
    });
    expect(checklist).toMatchObject({
      repositories: { kind: 'classroom', assignment: 'prod-checklist' },
      deadline: { at: new Date('2027-05-03T03:59:00Z'), local: '2027-05-02T23:59', timeZone: 'America/Montreal' },
      latePolicy: { cutoff: { maxDaysLate: 0 } },
      passPercent: 50,
      clusterBudget: { runs: 2, per: 'hour' },
      showClusterDetails: 'always',
    });
    expect(describeLab(lab85!)).toBe(
      'rubric lab-85, repositories lab-85-<login>, deadline 2027-03-28 23:59 Europe/Paris (2027-03-28T21:59:00.000Z), late: −10% per started day of the maximum points after 15 min of grace; not accepted more than 3 days late, pass mark 50%, cluster stage 5 runs per day per student, cluster details shown after the deadline',
    );
  });

  it('fills in defaults: the lab id is the Classroom prefix and the rubric; no deadline, budget or pass mark', () => {
    const course = parseCourseConfig(`${head}labs:\n  - id: lab-85\n`, 'course.yaml');
    expect(course.labs).toEqual([
      {
        id: 'lab-85',
        rubric: { ref: 'lab-85', id: 'lab-85' },
        repositories: { kind: 'classroom', assignment: 'lab-85' },
        timeZone: 'Europe/Paris',
        latePolicy: {
          graceMinutes: 0,
          penaltyPercent: 0,
          penaltyPercentPerDay: 0,
          maxPenaltyPercent: 100,
          penaltyOf: 'max-points',
        },
        showClusterDetails: 'always',
      },
    ]);
    expect(course).toMatchObject({ ignore: [], roster: [] });
  });

  it.each([
    // deadline as written, lab timeZone, expected instant, local, zone
    ['2027-03-28T23:59', undefined, '2027-03-28T21:59:00.000Z', '2027-03-28T23:59', 'Europe/Paris'],
    ['2027-03-27T23:59', undefined, '2027-03-27T22:59:00.000Z', '2027-03-27T23:59', 'Europe/Paris'], // the day before: CET
    ['2027-03-28T23:59', 'America/New_York', '2027-03-29T03:59:00.000Z', '2027-03-28T23:59', 'America/New_York'],
    ['2027-03-28T23:59 Asia/Tokyo', undefined, '2027-03-28T14:59:00.000Z', '2027-03-28T23:59', 'Asia/Tokyo'],
    ['"2027-03-28 23:59:30"', undefined, '2027-03-28T21:59:30.000Z', '2027-03-28T23:59:30', 'Europe/Paris'],
    ['2027-03-28T21:59Z', undefined, '2027-03-28T21:59:00.000Z', '2027-03-28T23:59', 'Europe/Paris'],
    // Happens twice in Paris (clocks go back at 03:00 CEST): the later one, unless an offset says which.
    ['2027-10-31T02:30', undefined, '2027-10-31T01:30:00.000Z', '2027-10-31T02:30', 'Europe/Paris'],
    ['2027-10-31T02:30+02:00 Europe/Paris', undefined, '2027-10-31T00:30:00.000Z', '2027-10-31T02:30', 'Europe/Paris'],
  ])('deadline %s (lab zone %s) is %s', (written, zone, at, local, timeZone) => {
    const course = parseCourseConfig(
      `${head}labs:\n  - id: lab-85\n    deadline: ${written}\n${zone ? `    timeZone: ${zone}\n` : ''}`,
      'course.yaml',
    );
    expect(course.labs[0]?.deadline).toEqual({ at: new Date(at), local, timeZone });
  });

  it('lets a lab override every default, and turns the late policy shorthands into policies', () => {
    const course = parseCourseConfig(
      `${head}defaults:
  passPercent: 50
  latePolicy: { penaltyPercentPerDay: 10 }
  clusterBudget: { runs: 5, per: day }
  showClusterDetails: after-deadline
labs:
  - id: lab-1
    deadline: 2027-03-01T12:00
  - id: lab-2
    deadline: 2027-03-01T12:00
    passPercent: 0
    latePolicy: accept
    clusterBudget: unlimited
    showClusterDetails: always
  - id: lab-3
    deadline: 2027-03-01T12:00
    latePolicy: { penaltyPercent: 5, penaltyPercentPerDay: 20, maxPenaltyPercent: 50, penaltyOf: score, acceptUntil: 2027-03-08T12:00 }
`,
      'course.yaml',
    );
    const [l1, l2, l3] = course.labs;
    expect(l1).toMatchObject({
      passPercent: 50,
      clusterBudget: { runs: 5, per: 'day' },
      showClusterDetails: 'after-deadline',
    });
    expect(l1?.latePolicy).toEqual({
      graceMinutes: 0,
      penaltyPercent: 0,
      penaltyPercentPerDay: 10,
      maxPenaltyPercent: 100,
      penaltyOf: 'max-points',
    });
    expect(l2).toMatchObject({ passPercent: 0, showClusterDetails: 'always' });
    expect(l2?.clusterBudget).toBeUndefined();
    expect(l2?.latePolicy.cutoff).toBeUndefined();
    expect(l3?.latePolicy).toEqual({
      graceMinutes: 0,
      penaltyPercent: 5,
      penaltyPercentPerDay: 20,
      maxPenaltyPercent: 50,
      penaltyOf: 'score',
      cutoff: { acceptUntil: new Date('2027-03-08T11:00:00Z') },
    });
  });

  it('routes, dedupes and keeps instructors and repository patterns as written', () => {
    const course = parseCourseConfig(
      `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: K8s-Prod
timeZone: europe/paris
instructors: [prof-martin, Prof-Martin, k8s-prod/instructors]
labs:
  - { id: a, repositories: { glob: "k8s-*-a" } }
  - { id: b, repositories: { regex: "^b-(?<login>[a-z0-9-]+)$" } }
  - { id: c, repositories: { list: [{ name: c-team-1, student: alice }] } }
`,
      'course.yaml',
    );
    expect(course.timeZone).toBe('Europe/Paris');
    expect(course.instructors).toEqual([
      { kind: 'user', login: 'prof-martin' },
      { kind: 'team', org: 'k8s-prod', slug: 'instructors' },
    ]);
    expect(course.labs.map((l) => l.repositories)).toEqual([
      { kind: 'glob', glob: 'k8s-*-a' },
      { kind: 'regex', regex: '^b-(?<login>[a-z0-9-]+)$' },
      { kind: 'list', repositories: [{ name: 'c-team-1', student: 'alice' }] },
    ]);
  });

  it('exports a strict schema of the file format', () => {
    const r = courseConfigSchema.safeParse({
      apiVersion: 'labgrader.dev/v1',
      kind: 'Course',
      id: 'c',
      organization: 'o',
      timeZone: 'UTC',
      instructors: ['p'],
      labs: [{ id: 'l' }],
      extra: 1,
    });
    expect(r.success).toBe(false);
  });
});

describe('parseCourseConfig: every mistake, with its line and column', () => {
  it.each<[string, string, string[]]>([
    [
      'YAML syntax',
      'labs: [',
      [
        'course.yaml:1:8: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ],
    ],
    [
      'a rubric instead of a course',
      'apiVersion: labgrader.dev/v1\nkind: Rubric\nid: lab-85\n',
      ['course.yaml:2:7: kind: this is a rubric, not a course file; check it with `labgrader rubric validate`'],
    ],
    [
      'missing fields',
      'apiVersion: labgrader.dev/v1\nkind: Course\n',
      [
        "course.yaml:1:1: (top level): missing required field 'id'",
        "course.yaml:1:1: (top level): missing required field 'organization'",
        "course.yaml:1:1: (top level): missing required field 'timeZone'",
        "course.yaml:1:1: (top level): missing required field 'instructors'",
        "course.yaml:1:1: (top level): missing required field 'labs'",
      ],
    ],
    [
      'wrong apiVersion',
      head.replace('labgrader.dev/v1', 'labgrader.dev/v2') + 'labs: [{ id: a }]\n',
      ["course.yaml:1:13: apiVersion: expected 'labgrader.dev/v1'"],
    ],
    [
      'a typo in a top-level key: one problem, not also a missing field',
      head.replace('organization:', 'organisation:') + 'labs: [{ id: a }]\n',
      ["course.yaml:4:1: (top level): unknown field 'organisation'; did you mean 'organization'?"],
    ],
    [
      'an organisation that is not a GitHub name',
      head.replace('organization: k8s-prod', 'organization: "k8s prod"') + 'labs: [{ id: a }]\n',
      ['course.yaml:4:15: organization: must be a GitHub organisation name'],
    ],
    [
      'an unknown time zone',
      head.replace('Europe/Paris', 'Europe/Pari') + 'labs: [{ id: a }]\n',
      ["course.yaml:5:11: timeZone: unknown time zone 'Europe/Pari'; did you mean 'Europe/Paris'?"],
    ],
    [
      'a fixed offset as a time zone',
      head.replace('Europe/Paris', '"+02:00"') + 'labs: [{ id: a }]\n',
      [
        "course.yaml:5:11: timeZone: '+02:00' is a fixed offset, which does not follow daylight saving time; use an IANA zone such as Europe/Paris",
      ],
    ],
    [
      'instructors: @login, not a login, a number, none',
      head.replace('[prof-martin]', '["@prof", "a/b/c", 123, "-x"]') + 'labs: [{ id: a }]\n',
      [
        "course.yaml:6:15: instructors[0]: write it without '@': 'prof'",
        "course.yaml:6:24: instructors[1]: 'a/b/c' is neither a GitHub login nor an 'org/team-slug' (the team's slug from its URL, e.g. k8s-prod/instructors)",
        'course.yaml:6:33: instructors[2]: must be a GitHub login or an \'org/team-slug\' as a string: quote it ("123") so YAML keeps it as written',
        "course.yaml:6:38: instructors[3]: '-x' is neither a GitHub login nor an 'org/team-slug' (the team's slug from its URL, e.g. k8s-prod/instructors)",
      ],
    ],
    [
      'no instructors, no labs',
      head.replace('[prof-martin]', '[]') + 'labs: []\n',
      [
        'course.yaml:6:14: instructors: name at least one instructor (a login or an org/team-slug)',
        'course.yaml:7:7: labs: a course needs at least one lab',
      ],
    ],
    [
      'a typo in a lab key',
      `${head}labs:\n  - id: lab-85\n    dealine: 2027-03-28T23:59\n`,
      ["course.yaml:9:5: labs[0]: unknown field 'dealine'; did you mean 'deadline'?"],
    ],
    [
      'a lab id that is not kebab-case, and a duplicate one',
      `${head}labs:\n  - id: Lab_85\n  - id: lab-86\n  - id: lab-86\n    repositories: { classroom: other }\n`,
      [
        'course.yaml:8:9: labs[0].id: must be kebab-case, e.g. lab-85',
        "course.yaml:10:9: labs[2].id: duplicate lab id 'lab-86' (also labs[1])",
      ],
    ],
    [
      'a deadline without a time, off the calendar, in a zone that does not exist',
      `${head}labs:\n  - id: a\n    deadline: 2027-03-28\n  - id: b\n    deadline: 2027-02-30T12:00\n  - id: c\n    deadline: 2027-03-28T23:59 Europe/Pariss\n  - id: d\n    deadline: soon\n`,
      [
        "course.yaml:9:15: labs[0].deadline: '2027-03-28' has no time of day; write one, e.g. '2027-03-28T23:59'",
        "course.yaml:11:15: labs[1].deadline: '2027-02-30T12:00' is not a date and time on the calendar",
        "course.yaml:13:15: labs[2].deadline: unknown time zone 'Europe/Pariss'; did you mean 'Europe/Paris'?",
        "course.yaml:15:15: labs[3].deadline: expected a local date-time such as '2027-03-28T23:59' (optionally followed by a time zone: '2027-03-28T23:59 Europe/Paris')",
      ],
    ],
    [
      'a deadline in the hour the clocks skip',
      `${head}labs:\n  - id: a\n    deadline: 2027-03-28T02:30\n  - id: b\n    deadline: 2027-03-14T02:00 America/New_York\n`,
      [
        "course.yaml:9:15: labs[0].deadline: deadline '2027-03-28T02:30' does not exist in Europe/Paris: the clocks go forward that night, straight to 03:00; use a time outside the gap, e.g. '2027-03-28T03:00'",
        "course.yaml:11:15: labs[1].deadline: deadline '2027-03-14T02:00' does not exist in America/New_York: the clocks go forward that night, straight to 03:00; use a time outside the gap, e.g. '2027-03-14T03:00'",
      ],
    ],
    [
      'an offset the zone does not have then',
      `${head}labs:\n  - id: a\n    deadline: 2027-10-31T02:30+03:00 Europe/Paris\n`,
      [
        "course.yaml:9:15: labs[0].deadline: deadline '2027-10-31T02:30+03:00 Europe/Paris': Europe/Paris is not at +03:00 then (it is at +02:00); drop the offset or correct it",
      ],
    ],
    [
      'late policy: none, a number, a typo, out of range, both cutoffs',
      `${head}labs:
  - { id: a, deadline: 2027-03-28T23:59, latePolicy: none }
  - { id: b, deadline: 2027-03-28T23:59, latePolicy: 10 }
  - { id: c, deadline: 2027-03-28T23:59, latePolicy: { penaltyPercentPerDay: 10, maxDaysLat: 3 } }
  - { id: d, deadline: 2027-03-28T23:59, latePolicy: { penaltyPercentPerDay: 150, graceMinutes: -1 } }
  - { id: e, deadline: 2027-03-28T23:59, latePolicy: { maxDaysLate: 3, acceptUntil: 2027-04-01T00:00 } }
  - { id: f, deadline: 2027-03-28T23:59, latePolicy: { penaltyOf: points } }
`,
      [
        "course.yaml:8:54: labs[0].latePolicy: 'none' could mean either: write 'accept' (late pushes count, flagged late, no penalty) or 'reject' (pushes after the deadline are not accepted)",
        "course.yaml:9:54: labs[1].latePolicy: expected 'accept', 'reject' or an object such as { penaltyPercentPerDay: 10, maxDaysLate: 3 } or { acceptUntil: '2027-04-04T23:59' }",
        "course.yaml:10:82: labs[2].latePolicy: unknown field 'maxDaysLat'; did you mean 'maxDaysLate'?",
        'course.yaml:11:78: labs[3].latePolicy.penaltyPercentPerDay: must be a percentage from 0 to 100',
        'course.yaml:11:97: labs[3].latePolicy.graceMinutes: Too small: expected number to be >=0',
        'course.yaml:12:72: labs[4].latePolicy: set either maxDaysLate or acceptUntil, not both',
        "course.yaml:13:67: labs[5].latePolicy.penaltyOf: expected 'max-points' or 'score'",
      ],
    ],
    [
      'acceptUntil before the deadline, and in a gap',
      `${head}labs:
  - { id: a, deadline: 2027-03-28T23:59, latePolicy: { acceptUntil: 2027-03-28T22:00 } }
  - { id: b, deadline: 2027-03-27T23:59, latePolicy: { acceptUntil: 2027-03-28T02:15 } }
`,
      [
        "course.yaml:8:69: labs[0].latePolicy.acceptUntil: acceptUntil (2027-03-28 22:00 Europe/Paris) is not after the deadline of lab 'a' (2027-03-28 23:59 Europe/Paris)",
        "course.yaml:9:69: labs[1].latePolicy.acceptUntil: acceptUntil '2027-03-28T02:15' does not exist in Europe/Paris: the clocks go forward that night, straight to 03:00; use a time outside the gap, e.g. '2027-03-28T03:00'",
      ],
    ],
    [
      'a late policy or after-deadline details without a deadline',
      `${head}defaults:\n  showClusterDetails: after-deadline\nlabs:\n  - id: a\n    latePolicy: reject\n    showClusterDetails: after-deadline\n  - id: b\n`,
      [
        "course.yaml:11:5: labs[0]: lab 'a' has no deadline, so its late policy never applies; add a deadline or remove latePolicy",
        "course.yaml:12:25: labs[0].showClusterDetails: lab 'a' has no deadline to show cluster details after; add a deadline or use 'always'",
        "course.yaml:13:5: labs[1]: lab 'b' has no deadline, and defaults.showClusterDetails is 'after-deadline'; add a deadline or set showClusterDetails: always on the lab",
      ],
    ],
    [
      'cluster budget: zero runs, a typo in the window, a word, and showClusterDetails',
      `${head}defaults:\n  clusterBudget: { runs: 0, per: days }\nlabs:\n  - { id: a, clusterBudget: lots }\n  - { id: b, showClusterDetails: never }\n`,
      [
        'course.yaml:8:26: defaults.clusterBudget.runs: at least 1 run (for none, grade with a rubric without cluster criteria)',
        "course.yaml:8:34: defaults.clusterBudget.per: expected 'hour', 'day' or 'week'; did you mean 'day'?",
        "course.yaml:10:29: labs[0].clusterBudget: expected 'unlimited'",
        "course.yaml:11:34: labs[1].showClusterDetails: expected 'always' or 'after-deadline'",
      ],
    ],
    [
      'pass mark out of range',
      `${head}defaults:\n  passPercent: 101\nlabs:\n  - { id: a, passPercent: -5 }\n`,
      [
        'course.yaml:8:16: defaults.passPercent: must be a percentage from 0 to 100',
        'course.yaml:10:27: labs[0].passPercent: must be a percentage from 0 to 100',
      ],
    ],
    [
      'repositories: two ways at once, bad globs, a bad regex, no login group, a bad prefix, a bad list',
      `${head}labs:
  - { id: a, repositories: { classroom: a, glob: "a-*" } }
  - { id: b, repositories: { glob: "b-*-*" } }
  - { id: c, repositories: { glob: "c/*" } }
  - { id: d, repositories: { regex: "^d-(" } }
  - { id: e, repositories: { regex: "^e-(.+)$" } }
  - { id: f, repositories: { classroom: "f-" } }
  - { id: g, repositories: { list: [{ name: g-1, student: alice }, { name: G-1, student: bob }, { name: "..", student: eve }] } }
  - { id: h, repositories: { list: [] } }
  - { id: i, repositories: { list: [{ name: i-1, student: "@alice" }] } }
  - { id: j, repositories: { clasroom: j } }
`,
      [
        'course.yaml:8:28: labs[0].repositories: set one of classroom, glob, regex or list, not classroom and glob',
        "course.yaml:9:36: labs[1].repositories.glob: a glob needs exactly one '*', which stands for the student's login ('b-*-*' has 2)",
        "course.yaml:10:36: labs[2].repositories.glob: 'c/*' can only hold what a repository name can (A-Z a-z 0-9 . _ -) and '*'",
        'course.yaml:11:37: labs[3].repositories.regex: not a valid regular expression: Invalid regular expression: /^d-(/i: Unterminated group',
        "course.yaml:12:37: labs[4].repositories.regex: needs a named group 'login' for the student's login, e.g. '^lab85-(?<login>[a-z0-9-]+)$'",
        "course.yaml:13:41: labs[5].repositories.classroom: write the prefix without its trailing '-': 'f' (repositories are '<prefix>-<login>')",
        "course.yaml:14:76: labs[6].repositories.list[1].name: repository 'G-1' is listed twice",
        "course.yaml:14:105: labs[6].repositories.list[2].name: '..' is not a GitHub repository name",
        'course.yaml:15:36: labs[7].repositories.list: list at least one repository',
        "course.yaml:16:59: labs[8].repositories.list[0].student: write the login without '@': 'alice'",
        "course.yaml:17:30: labs[9].repositories: unknown field 'clasroom'; did you mean 'classroom'?",
      ],
    ],
    [
      'two labs claiming the same repositories',
      `${head}labs:
  - { id: lab-85 }
  - { id: lab-86, repositories: { classroom: LAB-85 } }
  - { id: a, repositories: { glob: "x-*" } }
  - { id: b, repositories: { glob: "x-*" } }
  - { id: c, repositories: { list: [{ name: shared, student: alice }] } }
  - { id: d, repositories: { list: [{ name: shared, student: bob }] } }
`,
      [
        "course.yaml:9:46: labs[1].repositories.classroom: the Classroom prefix 'LAB-85' is also used by lab 'lab-85': each repository belongs to one lab",
        "course.yaml:11:36: labs[3].repositories.glob: the glob 'x-*' is also used by lab 'a': each repository belongs to one lab",
        "course.yaml:13:45: labs[5].repositories.list[0].name: the repository 'shared' is also used by lab 'c': each repository belongs to one lab",
      ],
    ],
    [
      'ignore patterns and the roster',
      `${head}ignore: ["*-template", "bad name"]
roster:
  - { login: alice, email: not-an-email }
  - { login: Alice, studentId: 2027001 }
  - { login: bob, nmae: Bob }
  - { login: carol }
  - { login: CAROL }
labs: [{ id: a }]
`,
      [
        "course.yaml:7:24: ignore[1]: 'bad name' can only hold what a repository name can (A-Z a-z 0-9 . _ -) and '*'",
        'course.yaml:9:28: roster[0].email: must be an email address',
        'course.yaml:10:32: roster[1].studentId: must be a student id as a string: quote it ("2027001") so YAML keeps it as written',
        "course.yaml:11:19: roster[2]: unknown field 'nmae'; did you mean 'name'?",
        "course.yaml:13:14: roster[4].login: 'CAROL' is already in the roster (roster[3]); logins are case-insensitive",
      ],
    ],
    [
      'a rubric that is not an id, without a resolver',
      `${head}labs:\n  - { id: a, rubric: rubrics/mine.yaml }\n`,
      [
        "course.yaml:8:22: labs[0].rubric: 'rubrics/mine.yaml' is not a rubric id (lowercase letters, digits, '-'); a rubric file needs a rubric resolver, which `labgrader course validate` has",
      ],
    ],
  ])('%s', (_name, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it('reports the problems of every lab at once, in file order, whatever else is broken', () => {
    const problems = problemsOf(
      `${head.replace('instructors: [prof-martin]', 'instructors: prof-martin')}labs:
  - { id: a, deadline: 2027-03-28T02:30 }
  - { id: b, dealine: x }
  - { id: a }
`,
    );
    expect(problems).toEqual([
      'course.yaml:6:14: instructors: expected array, received string',
      "course.yaml:8:24: labs[0].deadline: deadline '2027-03-28T02:30' does not exist in Europe/Paris: the clocks go forward that night, straight to 03:00; use a time outside the gap, e.g. '2027-03-28T03:00'",
      "course.yaml:9:14: labs[1]: unknown field 'dealine'; did you mean 'deadline'?",
      "course.yaml:10:11: labs[2].id: duplicate lab id 'a' (also labs[0])",
    ]);
  });

  it('refuses alias bombs', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;
    expect(problemsOf(bomb)[0]).toMatch(/^course\.yaml:1:1: YAML: Excessive alias count/);
  });
});

describe('rubric resolution', () => {
  const known: RubricResolver = (ref, { baseDir }) => {
    if (ref === 'lab-85') return { id: 'lab-85', file: '/bundled/lab-85.yaml' };
    if (ref === 'mine.yaml') return { id: 'lab-85', file: `${baseDir}/mine.yaml` };
    if (ref === 'other.yaml') return { id: 'other', file: `${baseDir}/other.yaml` };
    return { problem: `rubric '${ref}' not found` };
  };

  it('asks the resolver, with the course directory, and keeps the id and file', () => {
    const course = parseCourseConfig(
      `${head}labs:\n  - { id: a, rubric: other.yaml }\n  - { id: lab-85 }\n`,
      'course.yaml',
      {
        rubrics: known,
        baseDir: '/courses',
      },
    );
    expect(course.labs.map((l) => l.rubric)).toEqual([
      { ref: 'other.yaml', id: 'other', file: '/courses/other.yaml' },
      { ref: 'lab-85', id: 'lab-85', file: '/bundled/lab-85.yaml' },
    ]);
  });

  it('points at the rubric, or at the lab id when the id is the rubric', () => {
    expect(
      problemsOf(
        `${head}labs:\n  - { id: a, rubric: nope }\n  - id: lab-99\n  - { id: b, rubric: mine.yaml }\n  - { id: lab-85, repositories: { classroom: x } }\n`,
        {
          rubrics: known,
          baseDir: '/courses',
        },
      ),
    ).toEqual([
      "course.yaml:8:22: labs[0].rubric: rubric 'nope' not found",
      "course.yaml:9:5: labs[1]: no 'rubric', so the lab id is the rubric: rubric 'lab-99' not found",
      "course.yaml:11:11: labs[3].id: rubric id 'lab-85' is also the id of the rubric of lab 'b', from /courses/mine.yaml; reports are stored by rubric id, so give one of the rubrics another id",
    ]);
  });
});

describe('loadCourseFile', () => {
  it('reads a file, passes its directory to the resolver, and names it as asked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'course-'));
    try {
      const file = path.join(dir, 'course.yaml');
      writeFileSync(file, `${head}labs:\n  - { id: a, rubric: x.yaml }\n`);
      const seen: (string | undefined)[] = [];
      const course = await loadCourseFile(file, {
        displayName: 'mine.yaml',
        rubrics: (ref, { baseDir }) => {
          seen.push(baseDir);
          return { id: 'x', file: path.join(baseDir!, ref) };
        },
      });
      expect(seen).toEqual([dir]);
      expect(course.source).toBe('mine.yaml');
      expect(course.labs[0]?.rubric.file).toBe(path.join(dir, 'x.yaml'));

      writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00]));
      await expect(loadCourseFile(file, { displayName: 'mine.yaml' })).rejects.toThrow(
        'course file mine.yaml is not valid UTF-8 text',
      );
      await expect(loadCourseFile(path.join(dir, 'missing.yaml'), { displayName: 'missing.yaml' })).rejects.toThrow(
        'cannot read course file missing.yaml: no such file',
      );
      writeFileSync(file, `${head}labs:\n  - id: lab-85\n    dealine: x\n`);
      await expect(loadCourseFile(file, { displayName: 'mine.yaml' })).rejects.toMatchObject({
        message: 'course mine.yaml is invalid (1 problem)',
        problems: ["mine.yaml:9:5: labs[0]: unknown field 'dealine'; did you mean 'deadline'?"],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('describeLatePolicy', () => {
  it.each([
    ['accept', 'accepted without penalty'],
    ['reject', 'not accepted'],
    ['{ graceMinutes: 10, maxDaysLate: 0 }', 'not accepted after 10 min of grace'],
    ['{ penaltyPercent: 20 }', '−20% of the maximum points'],
    [
      '{ penaltyPercent: 5, penaltyPercentPerDay: 10, maxPenaltyPercent: 30, penaltyOf: score, maxDaysLate: 1 }',
      '−5% + 10% per started day of the points earned (at most 30%); not accepted more than 1 day late',
    ],
    ['{ acceptUntil: 2027-04-04T23:59 }', 'accepted without penalty; not accepted after 2027-04-04 23:59 Europe/Paris'],
  ])('%s: %s', (policy, expected) => {
    const course = parseCourseConfig(
      `${head}labs:\n  - id: a\n    deadline: 2027-03-28T23:59\n    latePolicy: ${policy}\n`,
      'course.yaml',
    );
    expect(describeLatePolicy(course.labs[0]!.latePolicy, 'Europe/Paris')).toBe(expected);
  });
});

describe('docs/course.md', () => {
  it("shows an example that is valid and reads like courses/example.yaml's", async () => {
    const doc = (await import('node:fs')).readFileSync(path.join(root, 'docs/course.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const shown = parseCourseConfig(example!, 'docs/course.md');
    const file = await loadCourseFile(path.join(root, 'courses/example.yaml'));
    expect(shown.labs.map((l) => [l.id, l.deadline, l.latePolicy, l.clusterBudget])).toEqual(
      file.labs.map((l) => [l.id, l.deadline, l.latePolicy, l.clusterBudget]),
    );
  });
});
