import { z } from 'zod';
import { defineCheck, type SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import type { PlannedWorkload } from '../plan.js';
import { bandsSchema } from '../settings.js';
import {
  bandCredit,
  containerField,
  describeBand,
  drillDidNotRun,
  drillEvidence,
  missingDrill,
  notMeaningful,
  percent,
  workloadLocation,
} from './shared.js';

export const nodeFailureOptions = z.strictObject({
  /**
   * Bands for the time from the node's failure until the lost pods are Ready on
   * other nodes and the Service answers. In labgrader's kind clusters the node
   * is declared lost after about 20 s and its pods evicted 10 s later, so a
   * lab that starts fast recovers in 30–40 s.
   */
  bands: bandsSchema([
    { maxSeconds: 60, credit: 1 },
    { maxSeconds: 150, credit: 0.5 },
  ]),
  /** Share of requests that must be answered once the cluster has declared the node lost. */
  minSuccessRatio: z.number().min(0).max(1).default(0.95),
});
export type NodeFailureOptions = z.infer<typeof nodeFailureOptions>;

/** Where the pods are spread over nodes (topologySpreadConstraints, affinity), else the pod template. */
export function spreadLocation(workload: PlannedWorkload): SourceLocation {
  const source = workload.source;
  const spec = workload.workload.podSpecPath;
  for (const field of ['topologySpreadConstraints', 'affinity']) {
    if (source.get([...spec, field]) !== undefined) return source.locate([...spec, field], 'key');
  }
  return source.get(spec) !== undefined ? source.locate(spec, 'key') : workloadLocation(workload);
}

/** `spec.replicas` (or the workload) when it runs one replica. */
function replicasLocation(workload: PlannedWorkload): SourceLocation {
  const source = workload.source;
  return source.get(['spec', 'replicas']) !== undefined
    ? source.locate(['spec', 'replicas'], 'value')
    : workloadLocation(workload);
}

function tolerationsLocation(workload: PlannedWorkload): SourceLocation {
  const path = [...workload.workload.podSpecPath, 'tolerations'];
  return workload.source.get(path) !== undefined ? workload.source.locate(path, 'key') : workloadLocation(workload);
}

export const nodeFailure = defineCheck<ClusterContext, NodeFailureOptions>({
  id: 'cluster/node-failure',
  stage: 'cluster',
  title: 'When a node fails, the Service keeps answering from other nodes and the lost pods are replaced',
  rationale:
    'Nodes die without warning: a kernel panic, a lost network link, a cloud instance reclaimed. Until the cluster notices, requests to that node’s pods fail; after that, only replicas on other nodes can answer, until the lost pods are evicted and replaced. A single replica, or replicas packed onto one node, make every node failure an outage.',
  severity: 'error',
  fixHint: [
    'Run several replicas, spread over nodes, and keep the default eviction of pods from an unreachable node (no long tolerations of node.kubernetes.io/unreachable):',
    '',
    '```yaml',
    'spec:',
    '  replicas: 3',
    '  template:',
    '    spec:',
    '      topologySpreadConstraints:',
    '        - maxSkew: 1',
    '          topologyKey: kubernetes.io/hostname',
    '          whenUnsatisfiable: ScheduleAnyway',
    '          labelSelector: { matchLabels: { app.kubernetes.io/name: web } }',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions',
  options: nodeFailureOptions,
  run(context, options, reporter) {
    const drill = context.drills['node-failure'];
    const workload = context.main.workload;
    const subjects = (subject: string) => [
      `${subject} replaced after a node failure`,
      `${subject} served by other nodes`,
    ];
    if (!drill || !workload) {
      if (missingDrill(nodeFailure, context, 'node-failure', reporter, subjects)) return;
      throw new Error('the node-failure drill did not run although cluster/node-failure is configured');
    }
    // The lab failed on its own (e.g. its pods restarted by themselves, seen after this drill ran): one cause.
    if (drill.status !== 'unsupported' && notMeaningful(context, subjects(workload.subject), reporter, drill)) return;
    drillEvidence(reporter, drill, workloadLocation(workload));
    if (drill.beforeLost) {
      reporter.evidence(
        'before-node-declared-lost',
        `${drill.beforeLost.ok}/${drill.beforeLost.total} requests answered in the ${drill.notReadySeconds ?? '?'} s before the cluster declared node ${drill.node} lost (not graded: the cluster's node-monitor-grace-period decides it)`,
      );
    }
    const [replaced, served] = subjects(workload.subject) as [string, string];
    if (
      drillDidNotRun(nodeFailure, drill, workload, reporter, { scenario: 'node-failure', subjects: [replaced, served] })
    )
      return;
    reporter.examine(replaced);
    reporter.examine(served);
    const node = `node ${drill.node ?? '?'}`;
    const desired = drill.desired ?? workload.workload.replicas ?? 1;
    const onNode = drill.podsOnNode?.length ?? 0;

    let replacedCredit = 0;
    let replacedSummary: string;
    if (drill.recoverySeconds === undefined) {
      replacedSummary = `not replaced within ${drill.timeoutSeconds} s`;
      const tolerates = drill.unreachableToleration;
      const longToleration =
        tolerates === 'forever' || (typeof tolerates === 'number' && tolerates >= drill.timeoutSeconds);
      reporter.report({
        message: longToleration
          ? `After ${node} stopped, the pods of ${workload.subject} on it were not replaced within ${drill.timeoutSeconds} s: they tolerate node.kubernetes.io/unreachable ${tolerates === 'forever' ? 'forever' : `for ${String(tolerates)} s`}, so they stay bound to the lost node that long.`
          : `After ${node} stopped, ${workload.subject} did not have ${desired} Ready pods on other nodes (and the Service answering) within ${drill.timeoutSeconds} s.`,
        location: longToleration ? tolerationsLocation(workload) : workloadLocation(workload),
        subject: replaced,
      });
    } else {
      replacedCredit = bandCredit(options.bands, drill.recoverySeconds).credit;
      replacedSummary = `replaced in ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)})`;
      if (replacedCredit < 1) {
        reporter.report({
          severity: replacedCredit > 0 ? 'warning' : nodeFailure.severity,
          message: `After ${node} stopped, ${workload.subject} took ${drill.recoverySeconds} s to have ${desired} Ready pods on other nodes and the Service answering (${describeBand(options.bands, drill.recoverySeconds)}; full credit within ${options.bands[0]!.maxSeconds} s).`,
          location:
            typeof drill.unreachableToleration === 'number' && drill.unreachableToleration > 30
              ? tolerationsLocation(workload)
              : containerField(workload, 'readinessProbe'),
          subject: replaced,
        });
      }
    }

    const after = drill.afterLost;
    let servedOk = false;
    if (!after) {
      reporter.report({
        message: `The Service was not probed during the node-failure drill: ${context.main.serviceProblem ?? 'there is no Service to probe'}.`,
        location: workloadLocation(workload),
        subject: served,
      });
    } else if (after.ratio >= options.minSuccessRatio) {
      servedOk = true;
    } else {
      const why =
        desired < 2
          ? `${workload.subject} runs a single replica, and it was on that node`
          : onNode >= desired
            ? `all ${desired} replicas of ${workload.subject} ran on that node`
            : `the replicas left on other nodes did not answer`;
      reporter.report({
        message: `Once the cluster had declared ${node} lost, the Service answered only ${after.ok} of ${after.total} requests (${percent(after.ratio)}; at least ${percent(options.minSuccessRatio)} expected) until the lost pods were replaced: ${why}.`,
        location:
          desired < 2
            ? replicasLocation(workload)
            : onNode >= desired
              ? spreadLocation(workload)
              : containerField(workload, 'readinessProbe'),
        subject: served,
      });
    }
    reporter.credit((replacedCredit + (servedOk ? 1 : 0)) / 2);
    reporter.summary(
      `${replacedSummary}; ${after ? `${after.ok}/${after.total} requests answered from other nodes` : 'not probed'}`,
    );
  },
});
