import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { bandsSchema } from '../settings.js';
import {
  DEFAULT_BANDS,
  availabilityLocation,
  bandCredit,
  describeBand,
  drillDidNotRun,
  drillEvidence,
  missingDrill,
  notMeaningful,
  workloadLocation,
} from './shared.js';

export const rolloutUndoOptions = z.strictObject({
  /** Bands for the time from `kubectl rollout undo` until the Deployment is rolled back and Ready. */
  bands: bandsSchema(DEFAULT_BANDS),
  /** Pods that must stay Ready while the broken release rolls out (rolling-update safety). */
  minReadyPods: z.number().int().min(0).default(1),
});
export type RolloutUndoOptions = z.infer<typeof rolloutUndoOptions>;

export const rolloutUndo = defineCheck<ClusterContext, RolloutUndoOptions>({
  id: 'cluster/rollout-undo',
  stage: 'cluster',
  title: 'A broken release leaves old pods serving, and kubectl rollout undo recovers',
  rationale:
    'Releases go wrong: a tag that does not exist, a crash on start. A rolling update that keeps the old pods until new ones are Ready turns a broken release into a stuck rollout instead of an outage, and `kubectl rollout undo` must bring the previous version back quickly.',
  severity: 'error',
  fixHint: [
    'Run more than one replica and never take old pods down before new ones are Ready; keep the revision history so `kubectl rollout undo` has something to go back to:',
    '',
    '```yaml',
    'spec:',
    '  replicas: 3',
    '  revisionHistoryLimit: 5',
    '  strategy:',
    '    type: RollingUpdate',
    '    rollingUpdate:',
    '      maxUnavailable: 0   # or at most replicas - 2',
    '      maxSurge: 1',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-back-a-deployment',
  options: rolloutUndoOptions,
  run(context, options, reporter) {
    const drill = context.drills['bad-rollout'];
    const workload = context.main.workload;
    const subjects = (subject: string) => [`${subject} during the rollout`, `${subject} after the undo`];
    if (!drill || !workload) {
      if (missingDrill(rolloutUndo, context, 'bad-rollout', reporter, subjects)) return;
      throw new Error('the bad-rollout drill did not run although cluster/rollout-undo is configured');
    }
    const [during, after] = subjects(workload.subject) as [string, string];
    if (drill.status !== 'unsupported' && notMeaningful(context, [during, after], reporter, drill)) return;
    drillEvidence(reporter, drill, workloadLocation(workload));
    if (
      drillDidNotRun(rolloutUndo, drill, workload, reporter, {
        scenario: 'bad-rollout',
        subjects: [during, after],
        locateUnsupported: true,
      })
    )
      return;
    reporter.examine(during);
    reporter.examine(after);
    const minReady = drill.minReady ?? 0;
    const kept = minReady >= options.minReadyPods;
    if (!kept) {
      reporter.report({
        message: `While a release with an image that cannot be pulled (${drill.badImage}) rolled out, only ${minReady} of ${drill.desired} pods of ${workload.subject} stayed Ready (at least ${options.minReadyPods} expected): the rolling update took old pods down before new ones were Ready.`,
        location: availabilityLocation(workload, drill.desired),
        subject: during,
      });
    }
    let undoCredit = 0;
    let undoSummary: string;
    if (drill.recoverySeconds === undefined) {
      undoSummary = `not rolled back within ${drill.timeoutSeconds} s`;
      reporter.report({
        message: `After kubectl rollout undo, ${workload.subject} was not back to ${drill.desired} Ready pods of the previous version within ${drill.timeoutSeconds} s.`,
        location: workloadLocation(workload),
        subject: after,
      });
    } else {
      undoCredit = bandCredit(options.bands, drill.recoverySeconds).credit;
      undoSummary = `undo recovered in ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)})`;
      if (undoCredit < 1) {
        reporter.report({
          severity: undoCredit > 0 ? 'warning' : rolloutUndo.severity,
          message: `After kubectl rollout undo, ${workload.subject} took ${drill.recoverySeconds} s to be rolled back and Ready (${describeBand(options.bands, drill.recoverySeconds)}; full credit within ${options.bands[0]!.maxSeconds} s).`,
          location: workloadLocation(workload),
          subject: after,
        });
      }
    }
    reporter.credit(((kept ? 1 : 0) + undoCredit) / 2);
    reporter.summary(
      `${minReady}/${drill.desired} pods stayed Ready during the bad rollout${kept ? '' : ` (at least ${options.minReadyPods} expected)`}; ${undoSummary}`,
    );
  },
});
