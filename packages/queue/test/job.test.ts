import { describe, expect, it } from '@jest/globals';
import {
  GRADE_JOB_SCHEMA_VERSION,
  InvalidGradeJobError,
  gradeJobId,
  parseGradeJob,
  type GradeJob,
} from '@labgrader/queue';

const job: GradeJob = {
  schemaVersion: GRADE_JOB_SCHEMA_VERSION,
  repository: {
    fullName: 'Codertocat/Hello-World',
    cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
    id: 186853002,
  },
  commit: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  ref: 'refs/heads/master',
  event: 'push',
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  requestId: 'req-1',
  author: 'Codertocat',
  pushedAt: '2019-05-15T15:20:57.000Z',
  installationId: 1,
  rubricId: 'lab-85',
};

describe('grading job contract', () => {
  it('accepts a complete job', () => {
    expect(parseGradeJob(job)).toEqual(job);
  });

  it('has one deterministic id per repository, commit and rubric, and a distinct one per forced request', () => {
    const id = gradeJobId(job);
    expect(id).toBe('codertocat/hello-world@6113728f27ae82c7b1a177c8d03f9e96e0adf246#lab-85');
    expect(
      gradeJobId({
        ...job,
        deliveryId: 'another-delivery',
        repository: { ...job.repository, fullName: 'CODERTOCAT/hello-world' },
      }),
    ).toBe(id);
    expect(gradeJobId({ ...job, rubricId: 'production-readiness' })).not.toBe(id);
    const forced = gradeJobId(job, { force: true });
    expect(forced).toBe(`${id}!rerun-72d3162e-cc78-11e3-81ab-4c9367dc0958`);
    expect(gradeJobId({ ...job, deliveryId: 'second-request' }, { force: true })).not.toBe(forced);
    // BullMQ forbids ':' in custom ids and integer-looking ids.
    for (const value of [id, forced]) {
      expect(value).not.toContain(':');
      expect(String(parseInt(value, 10))).not.toBe(value);
    }
  });

  it('names every bad field', () => {
    const bad = {
      ...job,
      commit: 'main',
      rubricId: '../../etc/passwd',
      repository: { fullName: 'no-slash', cloneUrl: 'ftp://example.com/x' },
      pushedAt: 'yesterday',
      extra: true,
    };
    let error: unknown;
    try {
      parseGradeJob(bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidGradeJobError);
    const problems = (error as InvalidGradeJobError).problems.join('\n');
    expect(problems).toMatch(/^commit: must be a full lowercase hex commit SHA$/m);
    expect(problems).toMatch(/^rubricId: must be a rubric id/m);
    expect(problems).toMatch(/^repository\.fullName: must be owner\/name$/m);
    expect(problems).toMatch(/^repository\.cloneUrl: unsupported protocol 'ftp:'/m);
    expect(problems).toMatch(/^pushedAt: /m);
    expect(problems).toMatch(/extra/);
  });

  it('refuses credentials inside the clone URL (tokens travel through the credentials port)', () => {
    expect(() =>
      parseGradeJob({
        ...job,
        repository: { ...job.repository, cloneUrl: 'https://x-access-token:ghs_abc@github.com/a/b.git' },
      }),
    ).toThrow(/repository\.cloneUrl: must not contain credentials/);
  });

  it('refuses a clone URL that is not the repository’s own, or is not a clean URL', () => {
    const withUrl =
      (cloneUrl: string, fullName = job.repository.fullName) =>
      () =>
        parseGradeJob({ ...job, repository: { fullName, cloneUrl } });
    expect(withUrl('https://github.com/someone-else/Hello-World.git')).toThrow(
      /repository\.cloneUrl: is not the repository's own: for Codertocat\/Hello-World its path must end in \/Codertocat\/Hello-World\(\.git\)/,
    );
    expect(withUrl('https://github.com/x/../Codertocat/Hello-World.git')).toThrow(
      /repository\.cloneUrl: must not contain '\.' or '\.\.' segments/,
    );
    expect(withUrl('ext::sh -c touch% /tmp/x')).toThrow(/repository\.cloneUrl: must be printable ASCII/);
    expect(withUrl('--upload-pack=touch')).toThrow(/repository\.cloneUrl: must be an absolute URL/);
    // Case differs, as GitHub allows; a file:// repository laid out as <dir>/<owner>/<name>.git.
    expect(() =>
      parseGradeJob({
        ...job,
        repository: { ...job.repository, cloneUrl: 'https://github.com/codertocat/hello-world' },
      }),
    ).not.toThrow();
    expect(withUrl('file:///srv/repos/course/lab.git', 'course/lab')).not.toThrow();
  });

  it('rejects a job of another schema version without guessing', () => {
    expect(() => parseGradeJob({ ...job, schemaVersion: 2 })).toThrow(
      /schemaVersion: this build understands version 1, got 2/,
    );
    expect(() => parseGradeJob('not a job')).toThrow(/got null/);
  });
});
