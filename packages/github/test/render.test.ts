/** The pure parts: annotations from findings, titles, conclusions, fitting Markdown under GitHub's limits, errors. */
import { describe, expect, test } from '@jest/globals';
import { ConfigError, InfrastructureError, type ReportFinding } from '@labgrader/core';
import { parseGradeJob } from '@labgrader/queue';
import {
  GithubAccessError,
  GithubUnavailableError,
  checkConclusion,
  checkRunExternalId,
  checkRunName,
  commentMarker,
  findingAnnotation,
  formatPoints,
  parseCommentMarker,
  reportAnnotations,
  scoreTitle,
  toGithubError,
} from '@labgrader/github';
import { batches, missingAnnotations, truncateBytes } from '../src/annotations.js';
import { routeName } from '../src/client.js';
import { cutMarkdown, fitReportMarkdown } from '../src/markdown.js';
import { findings, report } from './support/reports.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';

function finding(overrides: Partial<ReportFinding> = {}): ReportFinding {
  return {
    checkId: 'lint/container-resources',
    severity: 'error',
    message: 'container web sets no memory limit',
    location: { file: 'k8s/deployment.yaml', line: 12, column: 9 },
    fixHint: 'Set `resources.limits.memory`.',
    criteria: ['limits'],
    ...overrides,
  };
}

describe('annotations', () => {
  test('a finding at its file and line, level from severity, the fix hint in the message', () => {
    expect(findingAnnotation(finding({ subject: 'Deployment lab85/web' }))).toEqual({
      path: 'k8s/deployment.yaml',
      start_line: 12,
      end_line: 12,
      start_column: 9,
      end_column: 9,
      annotation_level: 'failure',
      title: 'lint/container-resources · Deployment lab85/web',
      message: 'container web sets no memory limit\n\nHow to fix: Set `resources.limits.memory`.',
    });
    expect(findingAnnotation(finding({ severity: 'warning' }))!.annotation_level).toBe('warning');
    expect(findingAnnotation(finding({ severity: 'info' }))!.annotation_level).toBe('notice');
  });

  test('columns only on one line; a range keeps its lines; no usable line means line 1', () => {
    const range = findingAnnotation(
      finding({ location: { file: 'a.yaml', line: 3, column: 2, endLine: 7, endColumn: 4 } }),
    )!;
    expect(range).toMatchObject({ start_line: 3, end_line: 7 });
    expect(range).not.toHaveProperty('start_column');
    const noLine = findingAnnotation(finding({ location: { file: 'a.yaml', line: 0, column: 0 } }))!;
    expect(noLine).toMatchObject({ start_line: 1, end_line: 1 });
    expect(noLine).not.toHaveProperty('start_column');
  });

  test('cluster-level findings and paths GitHub cannot place are left to the summary', () => {
    const { location: _none, ...clusterLevel } = finding({ checkId: 'cluster/pod-kill-recovery' });
    expect(findingAnnotation(clusterLevel)).toBeUndefined();
    for (const file of ['/etc/passwd', '../x.yaml', 'a//b.yaml', './a.yaml', 'a\\b.yaml', '']) {
      expect(findingAnnotation(finding({ location: { file, line: 1, column: 1 } }))).toBeUndefined();
    }
  });

  test('student text is made visible, titles stay within 255 characters, messages within 64 KB', () => {
    const a = findingAnnotation(
      finding({ message: `a\u202eb\u0000c\r\nd${'é'.repeat(70_000)}`, subject: '🙂'.repeat(300) }),
    )!;
    expect(a.message.startsWith('a<U+202E>b␀c⏎d')).toBe(true);
    expect(Buffer.byteLength(a.message)).toBeLessThanOrEqual(64 * 1024);
    expect(Array.from(a.title)).toHaveLength(255);
    expect(a.title.endsWith('…')).toBe(true);
    expect(truncateBytes('ab🙂', 5)).toBe('ab…');
  });

  test('every finding with a file, in a stable order; batches of 50; what a retry still has to send', () => {
    const all = reportAnnotations([...findings(120, { withoutFile: 10 })].reverse());
    expect(all).toHaveLength(110);
    expect(all).toEqual(reportAnnotations(findings(120, { withoutFile: 10 })));
    expect(batches(all).map((b) => b.length)).toEqual([50, 50, 10]);
    const sent = all.slice(0, 50).map((a) => ({ ...a, title: a.title, raw_details: null }));
    expect(missingAnnotations(all, sent)).toEqual(all.slice(50));
    // Identical annotations count as many times as they occur.
    expect(missingAnnotations([all[0]!, all[0]!], [all[0]!])).toEqual([all[0]]);
  });
});

describe('titles, names, ids', () => {
  test('the score as "67.7 / 80"', () => {
    expect(scoreTitle(report({ commit: SHA, points: 67.7, maxPoints: 80 }))).toBe('67.7 / 80');
    expect(formatPoints(67.75)).toBe('67.75');
    expect(formatPoints(12)).toBe('12');
    expect(formatPoints(1 / 3)).toBe('0.33');
  });

  test('the check run is named after the lab; its external id is the job key, its own for a regrade', () => {
    expect(checkRunName('Lab 85')).toBe('labgrader · Lab 85');
    expect(checkRunName('Lab\u202e 85\n')).toBe('labgrader · Lab<U+202E> 85⏎');
    const base = {
      schemaVersion: 1,
      repository: { fullName: 'Codertocat/Hello-World', cloneUrl: 'https://github.com/Codertocat/Hello-World.git' },
      commit: SHA,
      ref: 'refs/heads/main',
      event: 'push',
      deliveryId: 'd1',
      requestId: 'r1',
      pushedAt: '2026-11-21T10:00:00Z',
      rubricId: 'lab-85',
    };
    expect(checkRunExternalId(parseGradeJob(base))).toBe(`codertocat/hello-world@${SHA}#lab-85`);
    expect(checkRunExternalId(parseGradeJob({ ...base, deliveryId: 'other' }))).toBe(
      `codertocat/hello-world@${SHA}#lab-85`,
    );
    expect(checkRunExternalId(parseGradeJob({ ...base, event: 'rerun', force: true, deliveryId: 'rr' }))).toBe(
      `codertocat/hello-world@${SHA}#lab-85!rerun-rr`,
    );
  });

  test('conclusions: at or above the pass mark succeeds, below fails, nothing graded is neutral', () => {
    const at = (points: number, maxPoints = 80) =>
      checkConclusion(report({ commit: SHA, points, maxPoints }), 60, false);
    expect(at(48).conclusion).toBe('success');
    expect(at(47.99).conclusion).toBe('failure');
    expect(at(0, 0).conclusion).toBe('neutral');
    expect(checkConclusion(report({ commit: SHA, notGradable: true }), 60, false).conclusion).toBe('neutral');
    expect(checkConclusion(report({ commit: SHA, points: 80 }), 60, true).conclusion).toBe('neutral');
  });

  test('the PR comment marker round-trips and only parses at the start of a body', () => {
    const marker = { rubricId: 'lab-85', commit: SHA, pushedAt: '2026-11-21T10:00:00.000Z' };
    expect(parseCommentMarker(`${commentMarker(marker)}\n## labgrader`)).toEqual(marker);
    expect(parseCommentMarker(`quote:\n${commentMarker(marker)}`)).toBeUndefined();
    expect(parseCommentMarker(null)).toBeUndefined();
  });
});

describe('fitting Markdown under a limit', () => {
  test('a short report is left whole; a long one keeps as many findings as fit, then the note and the footer', () => {
    const render = (n: number) => `# Report\n${Array.from({ length: n }, (_, i) => `- finding ${i}`).join('\n')}\n`;
    expect(fitReportMarkdown(render, 3, { maxBytes: 1000, footer: 'END' })).toBe(`${render(3)}\nEND`);
    const fitted = fitReportMarkdown(render, 500, {
      maxBytes: 2000,
      footer: 'END',
      fullReportUrl: 'https://grader.example.edu/r/1',
    });
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(2000);
    expect(fitted).toContain('- finding 0');
    expect(fitted).not.toContain('- finding 499');
    expect(fitted).toContain('[full report](https://grader.example.edu/r/1)');
    expect(fitted.endsWith('\nEND')).toBe(true);
  });

  test('as a last resort the Markdown is cut at a line, closing an open code block and <details>', () => {
    const markdown = [
      '<details><summary>x</summary>',
      '',
      '```yaml',
      ...Array.from({ length: 100 }, (_, i) => `line: ${i}`),
      '```',
      '</details>',
    ].join('\n');
    const cut = cutMarkdown(markdown, 300);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(300);
    expect(cut.endsWith('```\n\n</details>')).toBe(true);
    const fitted = fitReportMarkdown(() => markdown, 0, { maxBytes: 600, footer: 'END' });
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(600);
    expect(fitted).toContain('shortened');
  });
});

describe('errors and routes', () => {
  const httpError = (status: number, message: string, headers: Record<string, string> = {}) =>
    Object.assign(new Error(message), { name: 'HttpError', status, response: { status, headers, data: { message } } });

  test('5xx, network failures and rate limits are retryable InfrastructureErrors', () => {
    const e5 = toGithubError(httpError(502, 'Bad Gateway'), 'POST /x');
    expect(e5).toBeInstanceOf(GithubUnavailableError);
    expect(e5).toBeInstanceOf(InfrastructureError);
    const network = toGithubError(
      Object.assign(new Error('fetch failed'), { name: 'HttpError', status: 500 }),
      'GET /x',
    );
    expect(network).toMatchObject({ httpStatus: 0, rateLimited: false });
    const secondary = toGithubError(
      httpError(403, 'You have exceeded a secondary rate limit', { 'retry-after': '30' }),
      'GET /x',
    );
    expect(secondary).toMatchObject({ rateLimited: true, retryAfterSeconds: 30 });
    const primary = toGithubError(
      httpError(403, 'API rate limit exceeded', {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 120),
      }),
      'GET /x',
    ) as GithubUnavailableError;
    expect(primary.rateLimited).toBe(true);
    expect(primary.retryAfterSeconds).toBeGreaterThan(100);
  });

  test('uninstalled, forbidden, refused permissions and bad credentials are non-retryable access errors', () => {
    const reasons = [
      [404, 'Not Found', 'not-found'],
      [403, 'Resource not accessible by integration', 'forbidden'],
      [422, 'The permissions requested are not granted to this installation.', 'forbidden'],
      [401, 'A JSON web token could not be decoded', 'unauthorized'],
      [422, 'Validation Failed', 'rejected'],
    ] as const;
    for (const [status, message, reason] of reasons) {
      const e = toGithubError(httpError(status, message), 'POST /app/installations/{installation_id}/access_tokens');
      expect(e).toBeInstanceOf(GithubAccessError);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e).toMatchObject({ reason, httpStatus: status, retryable: false });
      expect(e.message).toContain('POST /app/installations/{installation_id}/access_tokens');
    }
  });

  test('metrics routes are templates, also for the pages after the first', () => {
    expect(routeName('post', '/repos/{owner}/{repo}/check-runs', 'https://api.github.com')).toBe(
      'POST /repos/{owner}/{repo}/check-runs',
    );
    expect(
      routeName(
        'GET',
        'https://ghe.example.edu/api/v3/app/hook/deliveries?per_page=100&cursor=v1_9',
        'https://ghe.example.edu/api/v3',
      ),
    ).toBe('GET /app/hook/deliveries');
    expect(
      routeName('GET', 'https://api.github.com/repos/o/r/commits/abc/check-runs?page=2', 'https://api.github.com'),
    ).toBe('GET /repos/{owner}/{repo}/commits/{ref}/check-runs');
    expect(routeName('GET', 'https://api.github.com/elsewhere/1', 'https://api.github.com')).toBe('GET other');
  });
});
