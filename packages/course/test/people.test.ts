import { describe, expect, it, jest } from '@jest/globals';
import {
  defaultCourse,
  instructorTeams,
  isInstructor,
  judgeSubmission,
  parseCourseConfig,
  rosterEntry,
  type TeamMembership,
} from '@labgrader/course';

const course = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: c
organization: k8s-prod
timeZone: UTC
instructors: [Prof-Martin, k8s-prod/instructors, other-org/tas]
roster:
  - { login: Alice, name: Alice Martin, email: alice@example.edu, studentId: "2027001" }
labs: [{ id: lab-85 }]
`,
  'course.yaml',
);

describe('isInstructor', () => {
  it('knows the logins it names, case-insensitively, without asking GitHub', async () => {
    const memberOf = jest.fn<TeamMembership>();
    expect(await isInstructor(course, 'prof-martin', memberOf)).toBe(true);
    expect(memberOf).not.toHaveBeenCalled();
  });

  it('asks about each team in turn until one says yes', async () => {
    const memberOf = jest.fn<TeamMembership>(async (team, login) => team.slug === 'tas' && login === 'ta-bob');
    expect(await isInstructor(course, 'ta-bob', memberOf)).toBe(true);
    expect(memberOf.mock.calls).toEqual([
      [{ org: 'k8s-prod', slug: 'instructors' }, 'ta-bob'],
      [{ org: 'other-org', slug: 'tas' }, 'ta-bob'],
    ]);
    expect(await isInstructor(course, 'alice', memberOf)).toBe(false);
  });

  it('is no one it cannot check, and lets a failing membership lookup fail', async () => {
    expect(await isInstructor(course, 'ta-bob')).toBe(false);
    await expect(
      isInstructor(course, 'ta-bob', async () => {
        throw new Error('GitHub said 502');
      }),
    ).rejects.toThrow('GitHub said 502');
    expect(instructorTeams(course)).toEqual([
      { org: 'k8s-prod', slug: 'instructors' },
      { org: 'other-org', slug: 'tas' },
    ]);
  });
});

describe('rosterEntry', () => {
  it('finds a student by login, case-insensitively', () => {
    expect(rosterEntry(course, 'alice')).toEqual({
      login: 'Alice',
      name: 'Alice Martin',
      email: 'alice@example.edu',
      studentId: '2027001',
    });
    expect(rosterEntry(course, 'bob')).toBeUndefined();
  });
});

describe('defaultCourse', () => {
  it('is today’s behaviour: each rubric a lab, no deadlines, no budget, no instructors', async () => {
    const c = defaultCourse(['lab-85', 'production-readiness', 'lab-85']);
    expect(c).toMatchObject({
      configured: false,
      id: 'default',
      timeZone: 'UTC',
      instructors: [],
      roster: [],
      ignore: [],
    });
    expect(c.organization).toBeUndefined();
    expect(c.labs.map((l) => [l.id, l.rubric, l.repositories, l.showClusterDetails])).toEqual([
      ['lab-85', { ref: 'lab-85', id: 'lab-85' }, { kind: 'owner' }, 'always'],
      [
        'production-readiness',
        { ref: 'production-readiness', id: 'production-readiness' },
        { kind: 'owner' },
        'always',
      ],
    ]);
    expect(c.labs[0]?.clusterBudget).toBeUndefined();
    expect(judgeSubmission(c.labs[0]!, new Date())).toMatchObject({ late: false, accepted: true, penaltyPercent: 0 });
    expect(await isInstructor(c, 'anyone', async () => true)).toBe(false);
    expect(defaultCourse('lab-85').labs).toHaveLength(1);
    expect(() => defaultCourse([])).toThrow(RangeError);
  });
});
