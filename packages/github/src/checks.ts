/**
 * The check run: one per graded commit and lab, named after the lab
 * ("labgrader · Lab 85"), found again before every change by its external id
 * through the list-check-runs-for-ref endpoint (filtered by this App), so a
 * retried job or a second process never creates a second one.
 *
 * The external id is the job's own key (packages/queue's gradeJobId):
 * `owner/name@<sha>#<rubric>` for a push or pull request, with the re-run
 * request's delivery appended for a forced regrade ("Re-run", "Regrade"),
 * which so gets a new check run, as GitHub's guides do, while its own retries
 * still find it.
 *
 * Lifecycle: queued → in_progress (the stage in the summary) → completed:
 * success at or above the pass mark, failure below, neutral when the commit
 * could not be graded (never a zero), cancelled when a newer push superseded
 * it. Every finding with a file is an annotation, sent 50 per request (GitHub
 * appends them; a retry sends only those not yet on the run), the last batch
 * with the completion. Completed and cancelled runs carry the Regrade button.
 */
import { createHash } from 'node:crypto';
import { toDisplayText, type Logger, type Report } from '@labgrader/core';
import { gradeJobId, type GradeJob } from '@labgrader/queue';
import {
  batches,
  missingAnnotations,
  reportAnnotations,
  truncateChars,
  type CheckRunAnnotation,
} from './annotations.js';
import { KeyedLock, githubCall } from './call.js';
import type { GithubOctokit } from './client.js';
import type { CheckRunReporter, ReportTarget } from './contracts.js';
import {
  CHECK_RUN_SUMMARY_MAX,
  blobUrlBase,
  passMarkLine,
  prose,
  reportMarkdown,
  scoreTitle,
  shortCommit,
} from './markdown.js';
import { markdownLinkDestination } from '@labgrader/report';

/** The button on completed check runs; GitHub sends `check_run.requested_action` with this identifier. */
export const REGRADE_ACTION = {
  label: 'Regrade',
  description: 'Grade this commit again',
  identifier: 'regrade',
} as const;
export const REGRADE_ACTION_IDENTIFIER = REGRADE_ACTION.identifier;

const NAME_MAX = 100;
const EXTERNAL_ID_MAX = 255;

/** "labgrader · Lab 85". */
export function checkRunName(labTitle: string): string {
  return truncateChars(toDisplayText(`labgrader · ${labTitle}`), NAME_MAX);
}

/** The job's key (gradeJobId), or its sha256 when that would be long. */
export function checkRunExternalId(job: Pick<GradeJob, 'repository' | 'commit' | 'rubricId' | 'deliveryId' | 'force'>) {
  const id = gradeJobId(job, { force: job.force === true });
  return id.length <= EXTERNAL_ID_MAX ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}

export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled';

/** success / failure by the pass mark; neutral when nothing was graded or grading failed on our side. */
export function checkConclusion(
  report: Report,
  passPercent: number,
  retriesExhausted: boolean,
): { conclusion: CheckConclusion; verdict: 'passed' | 'below' | 'not-graded' } {
  if (retriesExhausted || report.status !== 'graded' || report.score.maxPoints <= 0) {
    return { conclusion: 'neutral', verdict: 'not-graded' };
  }
  const percent = (report.score.points / report.score.maxPoints) * 100;
  return percent + 1e-9 >= passPercent
    ? { conclusion: 'success', verdict: 'passed' }
    : { conclusion: 'failure', verdict: 'below' };
}

interface Output {
  title: string;
  summary: string;
}

interface ListedRun {
  id: number;
  external_id: string | null;
  status: string;
  conclusion: string | null;
  output: { annotations_count: number };
}

interface Context {
  client: GithubOctokit;
  owner: string;
  repo: string;
  name: string;
  externalId: string;
  headSha: string;
  target: ReportTarget;
  log: Logger;
}

export interface CheckRunsDeps {
  appId: number;
  webUrl: string;
  logger: Logger;
  now: () => Date;
  maxAnnotations: number;
  /** The installation client for this job's repository, with a `checks: write` token; undefined without an installation. */
  clientFor(job: GradeJob): GithubOctokit | undefined;
}

const ROUTE = {
  list: 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs',
  create: 'POST /repos/{owner}/{repo}/check-runs',
  update: 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}',
  annotations: 'GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations',
};

function httpUrl(url: string | undefined): string | undefined {
  return url ? markdownLinkDestination(url) : undefined;
}

export class CheckRuns implements CheckRunReporter {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: CheckRunsDeps) {}

  private context(target: ReportTarget): Context | undefined {
    const job = target.job;
    const log = this.deps.logger.child({
      repository: job.repository.fullName,
      commit: job.commit,
      rubric: job.rubricId,
    });
    const client = this.deps.clientFor(job);
    if (!client) {
      log.debug('no GitHub App installation for this job; no check run');
      return undefined;
    }
    const [owner, repo] = job.repository.fullName.split('/') as [string, string];
    return {
      client,
      owner,
      repo,
      name: checkRunName(target.labTitle),
      externalId: checkRunExternalId(job),
      headSha: job.commit,
      target,
      log,
    };
  }

  /** This job's runs, oldest first: the newest is the one that counts (GitHub shows the latest by name). */
  private async find(ctx: Context): Promise<{ canonical?: ListedRun; extras: ListedRun[] }> {
    const runs = await githubCall(ctx.log, ROUTE.list, () =>
      ctx.client.paginate(ctx.client.rest.checks.listForRef, {
        owner: ctx.owner,
        repo: ctx.repo,
        ref: ctx.headSha,
        app_id: this.deps.appId,
        filter: 'all',
        per_page: 100,
      }),
    );
    const ours = (runs as ListedRun[]).filter((r) => r.external_id === ctx.externalId).sort((a, b) => a.id - b.id);
    const canonical = ours.at(-1);
    return { ...(canonical ? { canonical } : {}), extras: ours.slice(0, -1) };
  }

  private async create(ctx: Context, body: Record<string, unknown>): Promise<number> {
    const details = httpUrl(ctx.target.reportUrl);
    const { data } = await githubCall(ctx.log, ROUTE.create, () =>
      ctx.client.rest.checks.create({
        owner: ctx.owner,
        repo: ctx.repo,
        name: ctx.name,
        head_sha: ctx.headSha,
        external_id: ctx.externalId,
        ...(details ? { details_url: details } : {}),
        ...body,
      } as Parameters<GithubOctokit['rest']['checks']['create']>[0]),
    );
    ctx.log.info('check run created', { checkRunId: data.id, status: data.status });
    return data.id;
  }

  private async update(ctx: Context, id: number, body: Record<string, unknown>): Promise<void> {
    await githubCall(ctx.log, ROUTE.update, () =>
      ctx.client.rest.checks.update({
        owner: ctx.owner,
        repo: ctx.repo,
        check_run_id: id,
        ...body,
      } as Parameters<GithubOctokit['rest']['checks']['update']>[0]),
    );
  }

  /** Older runs with our external id that are still open (two processes created one each): closed as duplicates. */
  private async closeDuplicates(ctx: Context, canonicalId: number, extras: ListedRun[]): Promise<void> {
    for (const extra of extras) {
      if (extra.status === 'completed') continue;
      ctx.log.warn('closing a duplicate check run', { checkRunId: extra.id, keeps: canonicalId });
      await this.update(ctx, extra.id, {
        status: 'completed',
        conclusion: 'skipped',
        completed_at: this.deps.now().toISOString(),
        output: { title: 'Duplicate', summary: 'This check run was created twice; the newer one has the result.' },
      });
    }
  }

  private lockKey(ctx: Context): string {
    return `${ctx.owner.toLowerCase()}/${ctx.repo.toLowerCase()}|${ctx.externalId}`;
  }

  async queued(target: ReportTarget): Promise<void> {
    const ctx = this.context(target);
    if (!ctx) return;
    await this.locks.run(this.lockKey(ctx), async () => {
      const { canonical } = await this.find(ctx);
      // Already there (a redelivered webhook, or the worker was faster): queued is never a step back.
      if (canonical) return;
      await this.create(ctx, {
        status: 'queued',
        output: {
          title: 'Queued',
          summary: `Commit ${shortCommit(ctx.headSha)} is waiting for a grader (${prose(target.labTitle)}).`,
        },
      });
    });
  }

  async inProgress(target: ReportTarget, stage: string): Promise<void> {
    const ctx = this.context(target);
    if (!ctx) return;
    await this.locks.run(this.lockKey(ctx), async () => {
      const { canonical } = await this.find(ctx);
      // A finished run (this job's earlier attempt completed it, or it was superseded) is not reopened.
      if (canonical?.status === 'completed') {
        ctx.log.debug('check run already completed; not reopened', { checkRunId: canonical.id, stage });
        return;
      }
      const shownStage = truncateChars(toDisplayText(stage), 80);
      const output: Output = {
        title: `Grading: ${shownStage}`,
        summary: `labgrader is grading commit ${shortCommit(ctx.headSha)} (${prose(target.labTitle)}).\n\nCurrent stage: **${prose(shownStage)}**`,
      };
      const started = canonical === undefined || canonical.status === 'queued';
      const body = {
        status: 'in_progress',
        ...(started ? { started_at: this.deps.now().toISOString() } : {}),
        output,
      };
      if (canonical) await this.update(ctx, canonical.id, body);
      else await this.create(ctx, body);
    });
  }

  private completedOutput(
    ctx: Context,
    report: Report,
    retriesExhausted: boolean,
    annotated: { shown: number; total: number },
  ): { output: Output; conclusion: CheckConclusion } {
    const { target } = ctx;
    const { conclusion, verdict } = checkConclusion(report, target.passPercent, retriesExhausted);
    const title = retriesExhausted
      ? 'Could not be graded'
      : report.status !== 'graded'
        ? 'Not gradable'
        : report.score.maxPoints <= 0
          ? 'Nothing was graded'
          : scoreTitle(report);
    const footer: string[] = ['', passMarkLine(report, target.passPercent, verdict)];
    if (retriesExhausted) {
      footer.push(
        '',
        'labgrader could not grade this commit after several attempts. That is a problem on our side, not in your repository: press **Regrade** (or **Re-run**) to try again.',
      );
    }
    if (annotated.shown < annotated.total) {
      footer.push('', `_${annotated.shown} of ${annotated.total} findings are shown as annotations._`);
    }
    const full = httpUrl(target.reportUrl);
    if (full) footer.push('', `[Full report](${full})`);
    const summary = reportMarkdown(report, {
      blobUrl: blobUrlBase(this.deps.webUrl, target.job.repository.fullName, ctx.headSha),
      maxBytes: CHECK_RUN_SUMMARY_MAX,
      footer: footer.join('\n'),
      ...(target.reportUrl ? { fullReportUrl: target.reportUrl } : {}),
      elsewhere: 'the annotations of this check run',
    });
    return { output: { title, summary }, conclusion };
  }

  async completed(target: ReportTarget, report: Report, options: { retriesExhausted: boolean }): Promise<void> {
    const ctx = this.context(target);
    if (!ctx) return;
    await this.locks.run(this.lockKey(ctx), async () => {
      const { canonical, extras } = await this.find(ctx);
      const all = reportAnnotations(report.findings);
      const capped = all.slice(0, Math.max(0, this.deps.maxAnnotations));
      const { output, conclusion } = this.completedOutput(ctx, report, options.retriesExhausted, {
        shown: capped.length,
        total: all.length,
      });

      // Annotations already on the run came from an earlier attempt of this same job: not sent twice.
      let toSend: CheckRunAnnotation[] = capped;
      if (canonical && canonical.output.annotations_count > 0) {
        const existing = await githubCall(ctx.log, ROUTE.annotations, () =>
          ctx.client.paginate(ctx.client.rest.checks.listAnnotations, {
            owner: ctx.owner,
            repo: ctx.repo,
            check_run_id: canonical.id,
            per_page: 100,
          }),
        );
        toSend = missingAnnotations(capped, existing);
        ctx.log.info('check run has annotations from an earlier attempt', {
          checkRunId: canonical.id,
          existing: existing.length,
          missing: toSend.length,
        });
      }
      const chunks = toSend.length > 0 ? batches(toSend) : [[]];
      const last = chunks.pop()!;
      const final = {
        status: 'completed',
        conclusion,
        completed_at: this.deps.now().toISOString(),
        output: last.length > 0 ? { ...output, annotations: last } : output,
        actions: [REGRADE_ACTION],
      };

      let id = canonical?.id;
      for (const chunk of chunks) {
        if (id === undefined) {
          id = await this.create(ctx, {
            status: 'in_progress',
            started_at: this.deps.now().toISOString(),
            output: { ...output, annotations: chunk },
          });
        } else {
          await this.update(ctx, id, { output: { ...output, annotations: chunk } });
        }
      }
      if (id === undefined) id = await this.create(ctx, final);
      else await this.update(ctx, id, final);
      ctx.log.info('check run completed', { checkRunId: id, conclusion, annotations: toSend.length });
      await this.closeDuplicates(ctx, id, extras);
    });
  }

  async cancelled(target: ReportTarget, supersededBy: { commit: string }): Promise<void> {
    const ctx = this.context(target);
    if (!ctx) return;
    await this.locks.run(this.lockKey(ctx), async () => {
      const { canonical, extras } = await this.find(ctx);
      if (canonical?.status === 'completed') {
        ctx.log.debug('check run already completed; not cancelled', { checkRunId: canonical.id });
        return;
      }
      const body = {
        status: 'completed',
        conclusion: 'cancelled',
        completed_at: this.deps.now().toISOString(),
        output: {
          title: 'Superseded by a newer push',
          summary: `A newer commit, ${shortCommit(supersededBy.commit)}, was pushed, and labgrader grades that one instead of ${shortCommit(ctx.headSha)}. Press **Regrade** to grade this commit anyway.`,
        },
        actions: [REGRADE_ACTION],
      };
      // Created when missing, so a late `queued` finds it completed and does not open a run nobody finishes.
      const id = canonical ? (await this.update(ctx, canonical.id, body), canonical.id) : await this.create(ctx, body);
      ctx.log.info('check run cancelled', { checkRunId: id, supersededBy: supersededBy.commit });
      await this.closeDuplicates(ctx, id, extras);
    });
  }
}
