import { describe, expect, it } from '@jest/globals';
import { routeGithubEvent } from '../src/index.js';
import { branchPushExample, examples } from './support/github.js';

const ctx = (event: string) => ({
  event,
  deliveryId: 'd-1',
  rubricId: 'lab-85',
  receivedAt: new Date('2026-03-01T12:00:00.000Z'),
});

describe('routing GitHub events (the fields GitHub may leave out)', () => {
  it('a push without sender is attributed to the pusher; one without pushed_at to the time it arrived', () => {
    const payload = branchPushExample();
    delete payload.sender;
    delete payload.repository.pushed_at;
    const routed = routeGithubEvent(payload, ctx('push'));
    expect(routed).toMatchObject({
      action: 'grade',
      force: false,
      request: { author: payload.pusher.name, requestedBy: payload.pusher.name, pushedAt: '2026-03-01T12:00:00.000Z' },
    });
  });

  it('a check run re-run whose suite has no branch grades the SHA itself', () => {
    const payload = examples('check_run', 'rerequested')[0]!;
    delete payload.check_run.check_suite.head_branch;
    delete payload.check_run.check_suite.created_at;
    const routed = routeGithubEvent(payload, ctx('check_run'));
    expect(routed).toMatchObject({
      action: 'grade',
      force: true,
      request: {
        ref: payload.check_run.head_sha,
        commit: payload.check_run.head_sha,
        event: 'rerun',
        pushedAt: '2026-03-01T12:00:00.000Z',
      },
    });
  });

  it('a pull request from a deleted account is attributed to whoever triggered the event', () => {
    const payload = examples('pull_request', 'synchronize')[0]!;
    payload.pull_request.user = null;
    const routed = routeGithubEvent(payload, ctx('pull_request'));
    expect(routed).toMatchObject({ action: 'grade', request: { author: payload.sender.login } });
  });

  it('a payload that is not an object is rejected with the field named, not thrown', () => {
    expect(routeGithubEvent(null, ctx('push'))).toEqual({
      action: 'reject',
      problems: ['push payload: expected object, received null'],
    });
    expect(routeGithubEvent([], ctx('check_suite'))).toEqual({
      action: 'ignore',
      reason: "check_suite 'undefined' is not a re-run request",
    });
  });
});

describe('routing refuses a clone_url that is not the repository’s own', () => {
  const hostile: Array<[string, RegExp]> = [
    ['https://github.com/someone-else/exfiltrate.git', /is not the repository's own: for Codertocat\/Hello-World/],
    ['https://github.com.evil.com/Codertocat/Hello-World.git/../../x', /'\.' or '\.\.' segments/],
    ['https://github.com/x/%2e%2e/Codertocat/Hello-World.git', /percent-encode/],
    ['https://token:x-oauth-basic@github.com/Codertocat/Hello-World.git', /must not contain credentials/],
    ['ext::sh -c touch% /tmp/pwned', /printable ASCII|absolute URL/],
    ['--upload-pack=touch', /must be an absolute URL/],
    ['https://github.com\\Codertocat\\Hello-World.git', /backslashes/],
  ];

  it.each(hostile)('push with clone_url %s is rejected, naming the field', (cloneUrl, why) => {
    const payload = branchPushExample();
    payload.repository.clone_url = cloneUrl;
    const routed = routeGithubEvent(payload, ctx('push'));
    expect(routed).toMatchObject({ action: 'reject' });
    const problems = (routed as { problems: string[] }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^push payload\.repository\.clone_url: /);
    expect(problems[0]).toMatch(why);
    expect(problems[0]).not.toContain('x-oauth-basic');
  });

  it('the same holds for pull requests and re-runs; case differences are GitHub’s and accepted', () => {
    const pr = examples('pull_request', 'opened')[0]!;
    pr.repository.clone_url = 'https://github.com/attacker/lab.git';
    expect(routeGithubEvent(pr, ctx('pull_request'))).toMatchObject({ action: 'reject' });
    const run = examples('check_run', 'rerequested')[0]!;
    run.repository.clone_url = run.repository.clone_url.replace('hello-world', 'goodbye-world');
    expect(routeGithubEvent(run, ctx('check_run'))).toMatchObject({ action: 'reject' });

    const push = branchPushExample();
    push.repository.clone_url = push.repository.clone_url.toLowerCase();
    expect(routeGithubEvent(push, ctx('push'))).toMatchObject({ action: 'grade' });
  });
});
