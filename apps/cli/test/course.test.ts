import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../../test/support/git-fixtures.js';
import { runCli } from '../../../test/support/cli.js';

const root = new URL('../../../', import.meta.url).pathname;
let work: string;

beforeAll(() => {
  work = tempDir();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(work, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const head = `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: k8s-prod
timeZone: Europe/Paris
instructors: [prof-martin]
`;

describe('labgrader course validate', () => {
  it('accepts the bundled example and says what each lab gets', async () => {
    const r = await runCli(['course', 'validate', 'courses/example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '✔ courses/example.yaml: k8s-prod-2027 "Operating Kubernetes in production (spring 2027)", organisation k8s-prod-2027, 2 labs, time zone Europe/Paris, instructors: prof-martin, k8s-prod-2027/instructors, roster of 2',
        '  lab-85: rubric lab-85, repositories lab-85-<login>, deadline 2027-03-28 23:59 Europe/Paris (2027-03-28T21:59:00.000Z), late: −10% per started day of the maximum points after 15 min of grace; not accepted more than 3 days late, pass mark 50%, cluster stage 5 runs per day per student, cluster details shown after the deadline',
        '  production-readiness: rubric production-readiness, repositories prod-checklist-<login>, deadline 2027-05-02 23:59 America/Montreal (2027-05-03T03:59:00.000Z), late: not accepted, pass mark 50%, cluster stage 2 runs per hour per student, cluster details always shown',
        '',
      ].join('\n'),
    );
  });

  it('exits 2 with every problem at its line, and still checks the other files', async () => {
    write(
      'broken/course.yaml',
      `${head}defaults:
  clusterBudget: { runs: 5, per: days }
labs:
  - id: lab-85
    dealine: 2027-03-28T23:59
  - id: lab-86
    deadline: 2027-03-28T02:30
  - id: lab-87
    rubric: lab-99
`,
    );
    const r = await runCli(['course', 'validate', 'broken/course.yaml', path.join(root, 'courses/example.yaml')], {
      cwd: work,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        '✘ course broken/course.yaml is invalid (5 problems)',
        "  broken/course.yaml:8:34: defaults.clusterBudget.per: expected 'hour', 'day' or 'week'; did you mean 'day'?",
        "  broken/course.yaml:11:5: labs[0]: unknown field 'dealine'; did you mean 'deadline'?",
        "  broken/course.yaml:12:5: labs[1]: no 'rubric', so the lab id is the rubric: rubric 'lab-86' not found: name a rubric file (relative to the course file) or a bundled rubric (lab-85, production-readiness)",
        "  broken/course.yaml:13:15: labs[1].deadline: deadline '2027-03-28T02:30' does not exist in Europe/Paris: the clocks go forward that night, straight to 03:00; use a time outside the gap, e.g. '2027-03-28T03:00'",
        "  broken/course.yaml:15:13: labs[2].rubric: rubric 'lab-99' not found: name a rubric file (relative to the course file) or a bundled rubric (lab-85, production-readiness)",
        'hint: Fix the fields listed above; docs/course.md describes every field of a course file.',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/^✔ .*courses\/example\.yaml: k8s-prod-2027/);
  });

  it('finds rubric files next to the course file and reports a broken one at the lab', async () => {
    const rubric = readFileSync(path.join(root, 'rubrics/lab-85.yaml'), 'utf8');
    write('courses/rubrics/mine.yaml', rubric.replace(/^id: lab-85$/m, 'id: mine'));
    write(
      'courses/rubrics/broken.yaml',
      rubric.replace(/^id: lab-85$/m, 'id: broken').replace(/points: 15/, 'pionts: 15'),
    );
    write(
      'courses/course.yaml',
      `${head}labs:\n  - { id: lab-1, rubric: rubrics/mine.yaml }\n  - { id: lab-2, rubric: rubrics/broken.yaml }\n`,
    );
    const r = await runCli(['course', 'validate', 'courses/course.yaml'], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^ {2}courses\/course\.yaml:9:26: labs\[1\]\.rubric: rubric courses\/rubrics\/broken\.yaml is invalid: courses\/rubrics\/broken\.yaml:\d+:\d+: criteria\[\d+\]: missing required field 'points' \(and 1 more\); run `labgrader rubric validate courses\/rubrics\/broken\.yaml`$/m,
    );
    expect(r.stderr).toContain('invalid (1 problem)');

    write('courses/course.yaml', `${head}labs:\n  - { id: lab-1, rubric: rubrics/mine.yaml }\n  - { id: lab-85 }\n`);
    const ok = await runCli(['course', 'validate', 'courses/course.yaml'], { cwd: work });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('  lab-1: rubric mine, repositories lab-1-<login>');
  });

  it('exits 2 for a file that is not there, and shows no control characters from the file', async () => {
    const missing = await runCli(['course', 'validate', 'nope.yaml'], { cwd: work });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('✘ cannot read course file nope.yaml: no such file');

    write('evil.yaml', `${head}labs:\n  - { id: a, rubric: "x\\u001b[2J" }\n`);
    const evil = await runCli(['course', 'validate', 'evil.yaml'], { cwd: work });
    expect(evil.code).toBe(2);
    expect(evil.stderr).not.toContain('\u001b');
  });

  it('is listed in the help', async () => {
    const r = await runCli(['course', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('validate <files...>  check course files and print what each lab gets');
  });
});
