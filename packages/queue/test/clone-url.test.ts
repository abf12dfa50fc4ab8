import { describe, expect, it } from '@jest/globals';
import { checkCloneUrl, parseCloneUrlRoot, repositoryCloneUrlProblem, type CloneUrlRoot } from '@labgrader/queue';

function root(entry: string): CloneUrlRoot {
  const parsed = parseCloneUrlRoot(entry);
  if (!('root' in parsed)) throw new Error(`bad root ${entry}: ${parsed.problem}`);
  return parsed.root;
}

const ROOTS = [root('https://github.com/'), root('file:///srv/repos/')];

describe('clone URLs a worker accepts', () => {
  it.each([
    ['https://github.com/owner/repo.git', 'https://github.com/owner/repo.git'],
    ['https://github.com/owner/repo', 'https://github.com/owner/repo'],
    // GitHub's owner and repository names are case-insensitive; hosts always are.
    ['https://GitHub.COM/Owner/Repo.git', 'https://github.com/Owner/Repo.git'],
    ['HTTPS://github.com:443/owner/repo.git', 'https://github.com/owner/repo.git'],
    ['file:///srv/repos/owner/repo.git', 'file:///srv/repos/owner/repo.git'],
    ['file://localhost/srv/repos/owner/repo.git', 'file:///srv/repos/owner/repo.git'],
  ])('%s → %s', (raw, normalised) => {
    expect(checkCloneUrl(raw, 'owner/repo', ROOTS)).toEqual({ allowed: true, url: normalised });
  });

  it('an allowed URL, normalised, is allowed again and lies under its root', () => {
    for (const raw of ['https://GitHub.com/owner/repo.git', 'file://localhost/srv/repos/owner/repo']) {
      const first = checkCloneUrl(raw, 'owner/repo', ROOTS);
      if (!first.allowed) throw new Error(first.problem);
      expect(checkCloneUrl(first.url, 'owner/repo', ROOTS)).toEqual(first);
      expect(ROOTS.some((r) => first.url.startsWith(r.text))).toBe(true);
    }
  });

  it('a root may name the owner: only that owner’s repositories are allowed', () => {
    const course = [root('https://github.com/Course-Org')];
    expect(checkCloneUrl('https://github.com/course-org/lab-1.git', 'course-org/lab-1', course)).toEqual({
      allowed: true,
      url: 'https://github.com/course-org/lab-1.git',
    });
    expect(checkCloneUrl('https://github.com/other/lab-1.git', 'other/lab-1', course)).toMatchObject({
      allowed: false,
      problem: expect.stringMatching(/is not allowed on this worker/),
    });
    // Not a way around the root: a path under the owner's root that ends in someone else's name.
    expect(checkCloneUrl('https://github.com/course-org/other/lab-1.git', 'other/lab-1', course)).toMatchObject({
      allowed: false,
    });
  });
});

describe('hostile clone URLs (full name owner/repo)', () => {
  const refused: Array<[raw: string, why: RegExp, roots?: CloneUrlRoot[]]> = [
    // Traversal, raw and encoded: WHATWG would resolve these away before a prefix check saw them.
    ['file:///allowed/../../elsewhere/owner/repo.git', /'\.' or '\.\.' segments/, [root('file:///allowed/')]],
    ['file:///srv/repos/../../etc/owner/repo.git', /'\.' or '\.\.' segments/],
    ['https://github.com/owner/repo/../../other/x', /'\.' or '\.\.' segments/],
    ['https://github.com/./owner/repo.git', /'\.' or '\.\.' segments/],
    ['https://github.com/other/%2e%2e/owner/repo.git', /percent-encode '\.', '\/' or '\\'/],
    ['https://github.com/other/%2E./owner/repo.git', /percent-encode/],
    ['https://github.com/owner%2frepo/owner/repo.git', /percent-encode/],
    ['https://github.com/x%5c..%5cowner/repo.git', /percent-encode/],
    ['https://github%2ecom/owner/repo.git', /percent-encode its host/],
    // Backslashes become '/' in WHATWG's eyes.
    ['https://github.com\\owner\\repo.git', /backslashes/],
    ['https://github.com/x/..\\owner/repo.git', /backslashes/],
    // Look-alike and neighbouring hosts, ports.
    ['https://github.com.evil.com/owner/repo.git', /not allowed on this worker/],
    ['https://evilgithub.com/owner/repo.git', /not allowed on this worker/],
    ['https://github.com./owner/repo.git', /not allowed on this worker/],
    ['https://github.com:8443/owner/repo.git', /not allowed on this worker/],
    ['https://ｇithub.com/owner/repo.git', /printable ASCII/],
    ['http://github.com/owner/repo.git', /not allowed on this worker/],
    // Credentials, including the userinfo trick that makes the real host evil.com.
    ['https://user:pw@github.com/owner/repo.git', /must not contain credentials/],
    ['https://github.com@evil.com/owner/repo.git', /must not contain credentials/],
    ['https://@github.com/owner/repo.git', /must not contain credentials/],
    // Someone else's repository, or something that merely starts like ours.
    ['https://github.com/other/repo.git', /is not the repository's own: for owner\/repo/],
    ['https://github.com/owner/repo.git.evil', /is not the repository's own/],
    ['https://github.com/owner/repository.git', /is not the repository's own/],
    ['https://github.com/owner', /is not the repository's own/],
    ['file:///srv/reposevil/owner/repo.git', /not allowed on this worker/],
    ['file:///srv/repos/extra/owner/repo.git', /not allowed on this worker/],
    ['file:///srv/owner/repo.git', /not allowed on this worker/],
    ['file://evil-host/srv/repos/owner/repo.git', /must not name a host/],
    // Empty segments, queries, fragments, controls.
    ['https://github.com/owner/repo.git/', /empty segments/],
    ['https://github.com//owner/repo.git', /empty segments/],
    ['https://github.com/owner/repo.git?ref=main', /query or a fragment/],
    ['https://github.com/owner/repo.git#main', /query or a fragment/],
    ['https://github.com/owner/repo.git\n', /printable ASCII/],
    ['https://github.com/own\ter/repo.git', /printable ASCII/],
    ['https://github.com/owner/repo .git', /printable ASCII/],
    // Not URLs at all: git would read these as a transport command or an option.
    ['ext::sh -c touch% /tmp/x', /printable ASCII|absolute URL/],
    ['ext::sh', /absolute URL/],
    ['--upload-pack=/tmp/x;git-upload-pack', /absolute URL/],
    ['-uhttps://github.com/owner/repo.git', /absolute URL/],
    ['git@github.com:owner/repo.git', /absolute URL/],
    ['/srv/repos/owner/repo.git', /absolute URL/],
    ['ssh://github.com/owner/repo.git', /unsupported protocol 'ssh:'/],
    ['git://github.com/owner/repo.git', /unsupported protocol 'git:'/],
    ['fd::17/owner/repo', /absolute URL/],
    [`https://github.com/${'a'.repeat(2100)}/owner/repo.git`, /longer than 2048/],
  ];

  it.each(refused)('%s', (raw, why, roots = ROOTS) => {
    const decision = checkCloneUrl(raw, 'owner/repo', roots);
    expect(decision).toMatchObject({ allowed: false, problem: expect.stringMatching(why) });
  });

  it('messages quote the URL without its credentials or control characters', () => {
    const token = 'ghs_' + 'A1b2C3d4'.repeat(5);
    const decision = checkCloneUrl(`https://x-access-token:${token}@github.com/owner/repo.git`, 'owner/repo', ROOTS);
    expect(decision.allowed).toBe(false);
    const problem = (decision as { problem: string }).problem;
    expect(problem).not.toContain(token);
    expect(problem).toMatch(/^clone URL "https:\/\/\[REDACTED\]@github\.com\/owner\/repo\.git" must not contain/);
    const newline = checkCloneUrl('https://github.com/owner/repo.git\nfatal: forged log line', 'owner/repo', ROOTS);
    expect((newline as { problem: string }).problem).not.toContain('\n');
  });
});

describe('the repository’s own URL, where no roots are configured (webhooks, the job contract)', () => {
  it('accepts the path /<owner>/<name>(.git) on any host or directory, and nothing else', () => {
    expect(repositoryCloneUrlProblem('https://github.com/Codertocat/Hello-World.git', 'Codertocat/Hello-World')).toBe(
      undefined,
    );
    expect(repositoryCloneUrlProblem('http://ghe.example.com/course/lab', 'course/lab')).toBe(undefined);
    expect(repositoryCloneUrlProblem('file:///tmp/x/course/lab.git', 'course/lab')).toBe(undefined);
    expect(repositoryCloneUrlProblem('https://github.com/course/other.git', 'course/lab')).toMatch(
      /not the repository's own/,
    );
    expect(repositoryCloneUrlProblem('https://github.com/a/../course/lab.git', 'course/lab')).toMatch(/'\.\.'/);
  });
});

describe('CLONE_URL_ALLOW entries', () => {
  it('are normalised to a root with a trailing slash', () => {
    expect(root('https://github.com').text).toBe('https://github.com/');
    expect(root('HTTPS://GitHub.com/Course-Org').text).toBe('https://github.com/Course-Org/');
    expect(root('file:///srv/repos').text).toBe('file:///srv/repos/');
    expect(root('file://').text).toBe('file:///');
  });

  it.each([
    ['ssh://git@example.com/', /must start with https:\/\/, http:\/\/ or file:\/\//],
    ['github.com/', /must be an absolute URL/],
    ['https://user:secret@github.com/', /credentials/],
    ['https://github.com/../elsewhere/', /'\.\.'/],
    ['https://github.com/x?y', /query/],
    ['https://github.com//x/', /empty segments/],
  ])('%s is refused', (entry, why) => {
    const parsed = parseCloneUrlRoot(entry);
    expect(parsed).toMatchObject({ problem: expect.stringMatching(why) });
    expect(JSON.stringify(parsed)).not.toContain('secret');
  });
});
