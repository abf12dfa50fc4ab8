import { z } from 'zod';
import type { CheckDefinition, Finding } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { bandsSchema } from '../settings.js';
import {
  DEFAULT_BANDS,
  availabilityLocation,
  bandCredit,
  describeBand,
  drillDidNotRun,
  drillEvidence,
  finding,
  missingDrill,
  workloadLocation,
} from './shared.js';

export const rolloutUndoOptions = z.strictObject({
  /** Bands for the time from `kubectl rollout undo` until the Deployment is rolled back and Ready. */
  bands: bandsSchema(DEFAULT_BANDS),
  /** Pods that must stay Ready while the broken release rolls out (rolling-update safety). */
  minReadyPods: z.number().int().min(0).default(1),
});
export type RolloutUndoOptions = z.infer<typeof rolloutUndoOptions>;

export const rolloutUndo: CheckDefinition<ClusterContext, RolloutUndoOptions> = {
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
  check(context, options) {
    const drill = context.drills['bad-rollout'];
    const workload = context.main.workload;
    if (!drill || !workload) {
      const missing = missingDrill(rolloutUndo, context, 'bad-rollout');
      if (missing) return { ...missing, examined: missing.examined === 0 ? 0 : 2 };
      throw new Error('the bad-rollout drill did not run although cluster/rollout-undo is configured');
    }
    const ev = drillEvidence(rolloutUndo, drill, workloadLocation(workload));
    const didNotRun = drillDidNotRun(rolloutUndo, drill, workload, {
      scenario: 'bad-rollout',
      evidence: ev,
      subjects: 2,
      locateUnsupported: true,
    });
    if (didNotRun) return didNotRun;
    const findings: Finding[] = [];
    const minReady = drill.minReady ?? 0;
    const kept = minReady >= options.minReadyPods;
    if (!kept) {
      findings.push(
        finding(rolloutUndo, {
          message: `While a release with an image that cannot be pulled (${drill.badImage}) rolled out, only ${minReady} of ${drill.desired} pods of ${workload.subject} stayed Ready (at least ${options.minReadyPods} expected): the rolling update took old pods down before new ones were Ready.`,
          location: availabilityLocation(workload, drill.desired),
          subject: `${workload.subject} during the rollout`,
        }),
      );
    }
    let undoCredit = 0;
    let undoSummary: string;
    if (drill.recoverySeconds === undefined) {
      undoSummary = `not rolled back within ${drill.timeoutSeconds} s`;
      findings.push(
        finding(rolloutUndo, {
          message: `After kubectl rollout undo, ${workload.subject} was not back to ${drill.desired} Ready pods of the previous version within ${drill.timeoutSeconds} s.`,
          location: workloadLocation(workload),
          subject: `${workload.subject} after the undo`,
        }),
      );
    } else {
      undoCredit = bandCredit(options.bands, drill.recoverySeconds).credit;
      undoSummary = `undo recovered in ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)})`;
      if (undoCredit < 1) {
        findings.push(
          finding(rolloutUndo, {
            severity: undoCredit > 0 ? 'warning' : rolloutUndo.severity,
            message: `After kubectl rollout undo, ${workload.subject} took ${drill.recoverySeconds} s to be rolled back and Ready (${describeBand(options.bands, drill.recoverySeconds)}; full credit within ${options.bands[0]!.maxSeconds} s).`,
            location: workloadLocation(workload),
            subject: `${workload.subject} after the undo`,
          }),
        );
      }
    }
    return {
      findings,
      evidence: ev,
      examined: 2,
      passed: (kept ? 1 : 0) + (undoCredit >= 1 ? 1 : 0),
      score: ((kept ? 1 : 0) + undoCredit) / 2,
      summary: `${minReady}/${drill.desired} pods stayed Ready during the bad rollout${kept ? '' : ` (at least ${options.minReadyPods} expected)`}; ${undoSummary}`,
    };
  },
};
