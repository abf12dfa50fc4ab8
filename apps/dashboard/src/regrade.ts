/**
 * Regrades from the dashboard: one grading's commit, or the latest push of
 * every student of a lab. The same forced job as the check run's "Regrade"
 * button (apps/api github.ts): event `regrade`, a delivery id of its own (so
 * it runs though the first job is kept), the reason kept with the grading.
 */
import { randomUUID } from 'node:crypto';
import type { EnqueueResult, GradeProducer, GradeJobRequest } from '@labgrader/queue';
import type { StoredReportSummary } from '@labgrader/store';
import type { Viewer } from './auth.js';

export interface RegradeOutcome {
  gradingId: string;
  jobId: string;
  status: EnqueueResult['status'];
}

export interface Regrader {
  regrade(viewer: Viewer, gradings: readonly StoredReportSummary[]): Promise<RegradeOutcome[]>;
}

/** The job request that grades this grading's commit again. */
export function regradeRequest(
  grading: StoredReportSummary,
  requestedBy: string,
  githubWebUrl: string,
): GradeJobRequest {
  const meta = grading.meta;
  return {
    repository: { fullName: grading.repository, cloneUrl: `${githubWebUrl}/${grading.repository}.git` },
    commit: grading.commit,
    ref: meta.ref,
    event: 'regrade',
    deliveryId: `dashboard-${randomUUID()}`,
    requestedBy,
    reason: `Regrade requested by ${requestedBy} on the dashboard`,
    pushedAt: grading.pushedAt,
    ...(meta.installationId ? { installationId: meta.installationId } : {}),
    ...(meta.author ? { author: meta.author } : {}),
    rubricId: grading.rubricId,
    ...(meta.lab ? { lab: { id: meta.lab.id, title: meta.lab.title } } : {}),
    ...(meta.student ? { student: meta.student } : {}),
  };
}

export function createRegrader(options: {
  producer: Pick<GradeProducer, 'enqueue'>;
  githubWebUrl: string;
  /** Told of every job queued (the live feed). */
  onQueued?: (grading: StoredReportSummary, result: EnqueueResult) => void;
}): Regrader {
  return {
    async regrade(viewer, gradings) {
      const out: RegradeOutcome[] = [];
      for (const grading of gradings) {
        const result = await options.producer.enqueue(regradeRequest(grading, viewer.login, options.githubWebUrl), {
          force: true,
        });
        options.onQueued?.(grading, result);
        out.push({ gradingId: grading.id, jobId: result.jobId, status: result.status });
      }
      return out;
    },
  };
}
