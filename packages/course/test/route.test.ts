import { describe, expect, it } from '@jest/globals';
import { defaultCourse, parseCourseConfig, routeRepository, sameLogin, type RouteResult } from '@labgrader/course';

const course = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: K8s-Prod
timeZone: Europe/Paris
instructors: [prof-martin]
ignore: ["*-template", course-site]
labs:
  - id: lab
  - id: lab-8
  - id: lab-85
  - id: lab-85-bonus
  - { id: capstone, repositories: { glob: "capstone-*-final" } }
  - { id: groups, repositories: { list: [{ name: lab-85-team-red, student: alice }] } }
  - { id: legacy, repositories: { regex: "^(old|legacy)_(?<login>[A-Za-z0-9-]+)$" } }
`,
  'course.yaml',
);

const routed = (r: RouteResult) => ('lab' in r ? `${r.lab.id} ${r.student}` : `ignored (${r.code}): ${r.ignored}`);

describe('routeRepository', () => {
  it.each([
    // Classroom: <assignment>-<login>, the longest assignment prefix wins.
    ['k8s-prod/lab-85-alice', 'lab-85 alice'],
    ['k8s-prod/lab-8-alice', 'lab-8 alice'],
    ['k8s-prod/lab-alice', 'lab alice'],
    ['k8s-prod/lab-85-bonus-alice', 'lab-85-bonus alice'],
    // Logins with dashes, including ones that look like an assignment.
    ['k8s-prod/lab-85-mary-jane-watson', 'lab-85 mary-jane-watson'],
    ['k8s-prod/lab-85-85-fan', 'lab-85 85-fan'],
    ['k8s-prod/lab-85-bonus', 'lab-85 bonus'], // the assignment lab-85-bonus needs a login after it
    ['k8s-prod/lab-8-5', 'lab-8 5'],
    // Case-insensitive like GitHub; the login keeps the repository's spelling.
    ['K8S-PROD/LAB-85-Alice', 'lab-85 Alice'],
    // Globs: the `*` is the login.
    ['k8s-prod/capstone-bob-final', 'capstone bob'],
    ['k8s-prod/Capstone-Bob-Smith-Final', 'capstone Bob-Smith'],
    // Explicit lists win over patterns.
    ['k8s-prod/lab-85-team-red', 'groups alice'],
    ['k8s-prod/LAB-85-TEAM-RED', 'groups alice'],
    // Regexes come last, anchored to the whole name.
    ['k8s-prod/legacy_carol', 'legacy carol'],
    ['k8s-prod/OLD_dave', 'legacy dave'],
  ])('%s → %s', (repo, expected) => {
    expect(routed(routeRepository(course, repo))).toBe(expected);
  });

  it.each([
    [
      'someone-else/lab-85-alice',
      'other-organization',
      '"someone-else/lab-85-alice" is not in the course organisation K8s-Prod',
    ],
    [
      'k8s-prod/lab-85-template',
      'ignored',
      `"k8s-prod/lab-85-template" matches the course's ignore pattern '*-template'`,
    ],
    ['k8s-prod/course-site', 'ignored', `"k8s-prod/course-site" matches the course's ignore pattern 'course-site'`],
    [
      'k8s-prod/homework-alice',
      'no-lab',
      `"k8s-prod/homework-alice" matches no lab of course k8s-prod (labs' repositories: lab-<login>, lab-8-<login>, lab-85-<login>, lab-85-bonus-<login>, capstone-<login>-final, 1 listed, /^(old|legacy)_(?<login>[A-Za-z0-9-]+)$/)`,
    ],
    ['k8s-prod/lab', 'no-lab', expect.stringContaining('"k8s-prod/lab" matches no lab')],
    ['k8s-prod/capstone-final', 'no-lab', expect.stringContaining('matches no lab')], // the * must not overlap the fixed text
    [
      'k8s-prod/lab-85-',
      'no-student',
      `"k8s-prod/lab-85-" is lab lab-85's by its name, but "" in it is not a GitHub login`,
    ],
    [
      'k8s-prod/lab-85-alice.bob',
      'no-student',
      `"k8s-prod/lab-85-alice.bob" is lab lab-85's by its name, but "alice.bob" in it is not a GitHub login`,
    ],
    ['k8s-prod/lab-85-a_b', 'no-student', expect.stringContaining('"a_b" in it is not a GitHub login')],
    ['k8s-prod/lab-85-' + 'x'.repeat(40), 'no-student', expect.stringContaining('is not a GitHub login')],
    ['k8s-prod/legacy_', 'no-lab', expect.stringContaining('matches no lab')],
    // Hostile names: never routed, quoted (escaped) in the reason.
    [
      'k8s-prod/lab-85-alice/../../etc',
      'invalid-name',
      '"k8s-prod/lab-85-alice/../../etc" is not a GitHub repository name',
    ],
    [
      'k8s-prod/lab-85-alice\n{"level":"error"}',
      'invalid-name',
      '"k8s-prod/lab-85-alice\\n{\\"level\\":\\"error\\"}" is not a GitHub repository name',
    ],
    ['k8s-prod/lab-85-\u0430lice', 'invalid-name', '"k8s-prod/lab-85-\u0430lice" is not a GitHub repository name'], // Cyrillic а
    [
      'k8s-prod/lab-85-alice\u001b[2J',
      'invalid-name',
      '"k8s-prod/lab-85-alice\\u001b[2J" is not a GitHub repository name',
    ],
    ['k8s-prod/..', 'invalid-name', '"k8s-prod/.." is not a GitHub repository name'],
    ['k8s-prod/', 'invalid-name', '"k8s-prod/" is not a GitHub repository name'],
    ['/lab-85-alice', 'invalid-name', '"/lab-85-alice" is not a GitHub repository name'],
    ['k8s prod/lab-85-alice', 'invalid-name', '"k8s prod/lab-85-alice" is not a GitHub repository name'],
    [
      'k8s-prod/' + 'a'.repeat(200),
      'invalid-name',
      expect.stringMatching(/^"k8s-prod\/a{111}…" is not a GitHub repository name$/),
    ],
  ])('%j is ignored (%s)', (repo, code, reason) => {
    expect(routeRepository(course, repo)).toEqual({ code, ignored: reason });
  });

  it('takes { owner, name } as well as owner/name, and refuses non-strings from untyped callers', () => {
    expect(routed(routeRepository(course, { owner: 'k8s-prod', name: 'lab-85-alice' }))).toBe('lab-85 alice');
    expect(routeRepository(course, { owner: 'k8s-prod', name: 42 as unknown as string })).toMatchObject({
      code: 'invalid-name',
    });
  });

  it('breaks a tie between equally long fixed texts by file order', () => {
    const tie = parseCourseConfig(
      `apiVersion: labgrader.dev/v1
kind: Course
id: c
organization: o
timeZone: UTC
instructors: [p]
labs:
  - { id: first, repositories: { glob: "ab-*" } }
  - { id: second, repositories: { glob: "*-ab" } }
`,
      'c.yaml',
    );
    expect(routed(routeRepository(tie, 'o/ab-x-ab'))).toBe('first x-ab');
  });

  it('routes every repository to the first rubric, its owner the student, without a course file', () => {
    const fallback = defaultCourse(['lab-85', 'production-readiness']);
    expect(routed(routeRepository(fallback, 'alice/anything'))).toBe('lab-85 alice');
    expect(routed(routeRepository(fallback, 'Some-Org/lab-85-bob'))).toBe('lab-85 Some-Org');
    expect(routeRepository(fallback, 'alice/../x')).toMatchObject({ code: 'invalid-name' });
  });

  it('compares logins case-insensitively', () => {
    expect(sameLogin('Alice', 'alice')).toBe(true);
    expect(sameLogin('alice', 'alicia')).toBe(false);
  });
});
