/**
 * The PR comment: one per pull request and rubric, written by this App,
 * found again by a hidden marker and edited in place on every push; never a
 * second comment. Its findings link to the exact lines at the graded commit
 * (blob URLs on GITHUB_URL, through formatMarkdown's `blobUrl`).
 *
 * Only comments this App wrote count (`performed_via_github_app`, or the
 * App's bot login): a student who pastes the marker into a comment of their
 * own changes nothing. The marker records the commit and its push time, so
 * a late report of an older push never overwrites a newer one.
 */
import { type Logger, type Report } from '@labgrader/core';
import type { GradeJob } from '@labgrader/queue';
import { KeyedLock, githubCall } from './call.js';
import type { GithubOctokit } from './client.js';
import type { PullRequestCommenter, ReportTarget } from './contracts.js';
import { COMMENT_BODY_MAX, blobUrlBase, passMarkLine, reportMarkdown } from './markdown.js';
import { checkConclusion } from './checks.js';
import { markdownLinkDestination } from '@labgrader/report';

const MARKER_PREFIX = '<!-- labgrader:pr-comment';

export interface CommentMarker {
  rubricId: string;
  commit: string;
  pushedAt: string;
}

/** `<!-- labgrader:pr-comment rubric=lab-85 commit=<sha> pushed=<iso> -->`: invisible on GitHub. */
export function commentMarker(marker: CommentMarker): string {
  return `${MARKER_PREFIX} rubric=${marker.rubricId} commit=${marker.commit} pushed=${marker.pushedAt} -->`;
}

/** The marker at the start of a comment body, if it is one of ours. */
export function parseCommentMarker(body: string | null | undefined): CommentMarker | undefined {
  const match =
    /^<!-- labgrader:pr-comment rubric=([a-z0-9-]{1,64}) commit=([0-9a-f]{40,64}) pushed=(\S{1,40}) -->/.exec(
      body ?? '',
    );
  return match ? { rubricId: match[1]!, commit: match[2]!, pushedAt: match[3]! } : undefined;
}

interface ListedComment {
  id: number;
  body?: string | null;
  user: { login: string; type?: string } | null;
  performed_via_github_app?: { id: number } | null;
}

export interface CommentsDeps {
  appId: number;
  webUrl: string;
  logger: Logger;
  /** The App's bot login (`<slug>[bot]`), from GET /app; undefined when it could not be read. */
  botLogin(): Promise<string | undefined>;
  /** The installation client for this job's repository, with a `pull_requests: write` token. */
  clientFor(job: GradeJob): GithubOctokit | undefined;
}

const ROUTE = {
  list: 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
  create: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
  update: 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
  remove: 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}',
};

export class PullRequestComments implements PullRequestCommenter {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: CommentsDeps) {}

  async upsert(target: ReportTarget & { pullRequest: number }, report: Report): Promise<void> {
    const job = target.job;
    const log = this.deps.logger.child({
      repository: job.repository.fullName,
      pullRequest: target.pullRequest,
      commit: job.commit,
      rubric: job.rubricId,
    });
    const client = this.deps.clientFor(job);
    if (!client) {
      log.debug('no GitHub App installation for this job; no PR comment');
      return;
    }
    const [owner, repo] = job.repository.fullName.split('/') as [string, string];
    const key = `${job.repository.fullName.toLowerCase()}#${target.pullRequest}|${job.rubricId}`;
    await this.locks.run(key, async () => {
      const bot = await this.deps.botLogin();
      const comments = (await githubCall(log, ROUTE.list, () =>
        client.paginate(client.rest.issues.listComments, {
          owner,
          repo,
          issue_number: target.pullRequest,
          per_page: 100,
        }),
      )) as ListedComment[];
      const ours = comments
        .filter(
          (c) => c.performed_via_github_app?.id === this.deps.appId || (bot !== undefined && c.user?.login === bot),
        )
        .map((c) => ({ comment: c, marker: parseCommentMarker(c.body) }))
        .filter((c) => c.marker?.rubricId === job.rubricId)
        .sort((a, b) => a.comment.id - b.comment.id);

      const keep = ours[0];
      if (keep && Date.parse(keep.marker!.pushedAt) > Date.parse(job.pushedAt) && keep.marker!.commit !== job.commit) {
        log.info('the PR comment shows a newer push; left as it is', { commentId: keep.comment.id });
        return;
      }
      const body = this.body(target, report);
      if (!keep) {
        const { data } = await githubCall(log, ROUTE.create, () =>
          client.rest.issues.createComment({ owner, repo, issue_number: target.pullRequest, body }),
        );
        log.info('PR comment created', { commentId: data.id });
      } else if (keep.comment.body !== body) {
        await githubCall(log, ROUTE.update, () =>
          client.rest.issues.updateComment({ owner, repo, comment_id: keep.comment.id, body }),
        );
        log.info('PR comment updated', { commentId: keep.comment.id });
      }
      // Two processes raced and each created one: the oldest stays, the others go.
      for (const extra of ours.slice(1)) {
        log.warn('deleting a duplicate PR comment', { commentId: extra.comment.id, keeps: keep!.comment.id });
        await githubCall(log, ROUTE.remove, () =>
          client.rest.issues.deleteComment({ owner, repo, comment_id: extra.comment.id }),
        );
      }
    });
  }

  private body(target: ReportTarget & { pullRequest: number }, report: Report): string {
    const job = target.job;
    const marker = commentMarker({ rubricId: job.rubricId, commit: job.commit, pushedAt: job.pushedAt });
    const { verdict } = checkConclusion(report, target.passPercent, false);
    const footer = ['', passMarkLine(report, target.passPercent, verdict)];
    const full = target.reportUrl ? markdownLinkDestination(target.reportUrl) : undefined;
    if (full) footer.push('', `[Full report](${full})`);
    const markdown = reportMarkdown(report, {
      blobUrl: blobUrlBase(this.deps.webUrl, job.repository.fullName, job.commit),
      maxBytes: COMMENT_BODY_MAX - Buffer.byteLength(marker, 'utf8') - 1,
      footer: footer.join('\n'),
      ...(target.reportUrl ? { fullReportUrl: target.reportUrl } : {}),
      elsewhere: 'the labgrader check run of this commit',
    });
    return `${marker}\n${markdown}`;
  }
}
