import { z } from 'zod';
import { defineCheck, type SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import type { NodeDrainResult } from '../drills/node-drain/index.js';
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

export const nodeDrainOptions = z.strictObject({
  /** Bands for the time from `kubectl drain` until the node is empty and every pod Ready elsewhere, fastest first. */
  bands: bandsSchema([
    { maxSeconds: 60, credit: 1 },
    { maxSeconds: 180, credit: 0.5 },
  ]),
  /** Share of requests that must be answered during the drain. */
  minSuccessRatio: z.number().min(0).max(1).default(0.95),
});
export type NodeDrainOptions = z.infer<typeof nodeDrainOptions>;

/** The lab's PodDisruptionBudget by name, and the line of its minAvailable/maxUnavailable. */
export function budgetLocation(
  context: ClusterContext,
  workload: PlannedWorkload,
  name: string | undefined,
): SourceLocation | undefined {
  const object = context.plan.objects.find(
    (o) => o.source.kind === 'PodDisruptionBudget' && o.source.name === name && o.namespace === workload.namespace,
  );
  if (!object) return undefined;
  for (const field of ['minAvailable', 'maxUnavailable']) {
    if (object.source.get(['spec', field]) !== undefined) return object.source.locate(['spec', field], 'value');
  }
  return object.source.startLocation();
}

function budgetText(drill: NodeDrainResult): string {
  return (drill.budgets ?? [])
    .map((b) =>
      [
        `PodDisruptionBudget ${b.name}`,
        b.minAvailable !== undefined
          ? ` (minAvailable: ${b.minAvailable}`
          : ` (maxUnavailable: ${b.maxUnavailable ?? '?'}`,
        `, ${b.disruptionsAllowed ?? '?'} disruption${b.disruptionsAllowed === 1 ? '' : 's'} allowed)`,
      ].join(''),
    )
    .join(', ');
}

export const nodeDrain = defineCheck<ClusterContext, NodeDrainOptions>({
  id: 'cluster/node-drain',
  stage: 'cluster',
  title: 'A node can be drained for maintenance, and the Service keeps answering',
  rationale:
    'Nodes are drained for every upgrade and maintenance window. A PodDisruptionBudget should make the drain evict pods one at a time, waiting until each replacement is Ready, without blocking it: a budget that allows no disruption (minAvailable equal to the replicas) stalls every upgrade, and no budget (or one replica) lets the drain take the whole service down.',
  severity: 'error',
  fixHint: [
    'Run several replicas and a PodDisruptionBudget that always allows one disruption:',
    '',
    '```yaml',
    'apiVersion: policy/v1',
    'kind: PodDisruptionBudget',
    'spec:',
    '  maxUnavailable: 1        # or minAvailable: replicas - 1',
    '  selector:',
    '    matchLabels: { app.kubernetes.io/name: web }',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/tasks/run-application/configure-pdb/',
  options: nodeDrainOptions,
  run(context, options, reporter) {
    const drill = context.drills['node-drain'];
    const workload = context.main.workload;
    const subjects = (subject: string) => [`${subject} drain`, `${subject} during the drain`];
    if (!drill || !workload) {
      if (missingDrill(nodeDrain, context, 'node-drain', reporter, subjects)) return;
      throw new Error('the node-drain drill did not run although cluster/node-drain is configured');
    }
    const firstBudget = drill.budgets?.[0]?.name;
    const budgetLine = budgetLocation(context, workload, firstBudget) ?? workloadLocation(workload);
    // The lab failed on its own (e.g. its pods restarted by themselves, seen after this drill ran): one cause.
    if (drill.status !== 'unsupported' && notMeaningful(context, subjects(workload.subject), reporter, drill)) return;
    drillEvidence(reporter, drill, budgetLine);
    const [drain, during] = subjects(workload.subject) as [string, string];
    if (drillDidNotRun(nodeDrain, drill, workload, reporter, { scenario: 'node-drain', subjects: [drain, during] }))
      return;
    reporter.examine(drain);
    reporter.examine(during);
    const node = `node ${drill.node ?? '?'}`;
    const desired = drill.desired ?? workload.workload.replicas ?? 1;

    let drainCredit = 0;
    let drainSummary: string;
    const blockedByBudget = !drill.drained && ((drill.refusedEvictions ?? 0) > 0 || (drill.blockedSeconds ?? 0) > 0);
    if (blockedByBudget) {
      drainSummary = `drain blocked by the PodDisruptionBudget for ${drill.blockedSeconds} s (${drill.refusedEvictions} evictions refused)`;
      reporter.report({
        message: `kubectl drain of ${node} did not finish within ${drill.drainTimeoutSeconds ?? drill.drainSeconds ?? '?'} s: ${budgetText(drill)} refused every eviction of the ${drill.leftOnNode?.length ?? 0} pod${drill.leftOnNode?.length === 1 ? '' : 's'} of ${workload.subject} left on it (${drill.refusedEvictions} refusals), so the node can never be emptied for maintenance. Allow one disruption: maxUnavailable: 1, or minAvailable below the ${desired} replicas.`,
        location: budgetLine,
        subject: drain,
      });
    } else if (!drill.drained) {
      drainSummary = `drain failed${drill.drainError ? ` (${drill.drainError})` : ''}`;
      reporter.report({
        message: `kubectl drain of ${node} failed: ${drill.drainError ?? 'no error message'}.`,
        location: workloadLocation(workload),
        subject: drain,
      });
    } else if (drill.recoverySeconds === undefined) {
      drainSummary = `drained, but ${desired} pods were not Ready on other nodes within ${drill.timeoutSeconds} s`;
      reporter.report({
        message: `${node} was drained, but ${workload.subject} did not have ${desired} Ready pods on the other nodes within ${drill.timeoutSeconds} s after.`,
        location: containerField(workload, 'readinessProbe'),
        subject: drain,
      });
    } else {
      drainCredit = bandCredit(options.bands, drill.recoverySeconds).credit;
      drainSummary = `drained, all pods Ready elsewhere in ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)})`;
      if (drainCredit < 1) {
        reporter.report({
          severity: drainCredit > 0 ? 'warning' : nodeDrain.severity,
          message: `Draining ${node} took ${drill.recoverySeconds} s until ${workload.subject} had ${desired} Ready pods on the other nodes (${describeBand(options.bands, drill.recoverySeconds)}; full credit within ${options.bands[0]!.maxSeconds} s).`,
          location: containerField(workload, 'readinessProbe'),
          subject: drain,
        });
      }
    }

    const probe = drill.probe;
    let servedOk = false;
    if (!probe) {
      reporter.report({
        message: `The Service was not probed during the drain: ${context.main.serviceProblem ?? 'there is no Service to probe'}.`,
        location: workloadLocation(workload),
        subject: during,
      });
    } else if (probe.ratio >= options.minSuccessRatio) {
      servedOk = true;
    } else {
      const noBudget = (drill.budgets ?? []).length === 0;
      const why =
        desired < 2
          ? `${workload.subject} runs a single replica, so evicting it leaves nothing to answer until its replacement is Ready`
          : noBudget
            ? `no PodDisruptionBudget selects the pods of ${workload.subject}, so the drain evicted them all at once`
            : `at least ${drill.minReady ?? '?'} of ${desired} pods stayed Ready, but requests still failed: the evicted pods stopped serving before they left the Service's endpoints`;
      const location =
        desired < 2
          ? workload.source.get(['spec', 'replicas']) !== undefined
            ? workload.source.locate(['spec', 'replicas'], 'value')
            : workloadLocation(workload)
          : noBudget
            ? workloadLocation(workload)
            : containerField(workload, 'readinessProbe');
      reporter.report({
        message: `During the drain of ${node} the Service answered only ${probe.ok} of ${probe.total} requests (${percent(probe.ratio)}; at least ${percent(options.minSuccessRatio)} expected), longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s: ${why}.`,
        location,
        subject: during,
      });
    }
    reporter.credit((drainCredit + (servedOk ? 1 : 0)) / 2);
    reporter.summary(`${drainSummary}; ${probe ? `${probe.ok}/${probe.total} requests answered` : 'not probed'}`);
  },
});
