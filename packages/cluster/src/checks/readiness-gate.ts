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

function replicasLocation(workload: PlannedWorkload): SourceLocation {
  return workload.source.get(['spec', 'replicas']) !== undefined
    ? workload.source.locate(['spec', 'replicas'], 'value')
    : workloadLocation(workload);
}

export const readinessGateOptions = z.strictObject({
  /**
   * Bands for the time from the replica's failure until the Service no longer
   * routes to it (its readiness probe's periodSeconds × failureThreshold, plus
   * a second or two), fastest first.
   */
  bands: bandsSchema([
    { maxSeconds: 15, credit: 1 },
    { maxSeconds: 40, credit: 0.5 },
  ]),
  /** Share of requests that must be answered once the replica is out of the endpoints. */
  minSuccessRatio: z.number().min(0).max(1).default(0.95),
});
export type ReadinessGateOptions = z.infer<typeof readinessGateOptions>;

export const readinessGate = defineCheck<ClusterContext, ReadinessGateOptions>({
  id: 'cluster/readiness-gate',
  stage: 'cluster',
  title: 'A replica that stops answering is taken out of the Service, and the Service keeps answering',
  rationale:
    'A replica can stop serving without crashing: a hung process, a full worker pool, a lost database connection. Only its readiness probe tells Kubernetes to stop sending it traffic; without one (or with one that checks nothing the clients need), every request routed to it fails for as long as it stays broken.',
  severity: 'error',
  fixHint: [
    'Give every serving container a readiness probe on the port and path the clients use, that fails fast when the app cannot serve:',
    '',
    '```yaml',
    'readinessProbe:',
    '  httpGet: { path: /readyz, port: http }',
    '  periodSeconds: 5',
    '  failureThreshold: 2',
    '```',
  ].join('\n'),
  docsUrl:
    'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-readiness-probes',
  options: readinessGateOptions,
  run(context, options, reporter) {
    const drill = context.drills['readiness-gate'];
    const workload = context.main.workload;
    const subjects = (subject: string) => [`${subject} takes a failing replica out`, `${subject} once it is out`];
    if (!drill || !workload) {
      if (missingDrill(readinessGate, context, 'readiness-gate', reporter, subjects)) return;
      throw new Error('the readiness-gate drill did not run although cluster/readiness-gate is configured');
    }
    const probeLine = containerField(workload, 'readinessProbe');
    // The lab failed on its own (e.g. its pods restarted by themselves, seen after this drill ran): one cause.
    if (drill.status !== 'unsupported' && notMeaningful(context, subjects(workload.subject), reporter, drill)) return;
    drillEvidence(reporter, drill, probeLine);
    const [out, after] = subjects(workload.subject) as [string, string];
    if (
      drillDidNotRun(readinessGate, drill, workload, reporter, { scenario: 'readiness-gate', subjects: [out, after] })
    )
      return;
    reporter.examine(out);
    reporter.examine(after);
    const pod = drill.pod ?? 'one pod';
    const services = (drill.services ?? []).map((s) => `Service ${s}`).join(', ') || 'the Service';
    const noProbe =
      drill.readinessProbe === 'none'
        ? ' The container has no readinessProbe, so Kubernetes cannot tell that the pod is not serving.'
        : drill.readinessProbe === 'exec'
          ? ' Its readiness probe is an exec command, which does not notice that clients cannot connect: probe the port the clients use (httpGet or tcpSocket).'
          : '';

    let outCredit = 0;
    let outSummary: string;
    if (drill.recoverySeconds === undefined) {
      outSummary = `still routed to after ${drill.timeoutSeconds} s`;
      reporter.report({
        message: `Pod ${pod} of ${workload.subject} stopped accepting connections, but ${services} still routed requests to it ${drill.timeoutSeconds} s later.${noProbe}`,
        location: probeLine,
        subject: out,
      });
    } else {
      outCredit = bandCredit(options.bands, drill.recoverySeconds).credit;
      outSummary = `taken out after ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)})`;
      if (outCredit < 1) {
        reporter.report({
          severity: outCredit > 0 ? 'warning' : readinessGate.severity,
          message: `Pod ${pod} of ${workload.subject} stopped accepting connections and was taken out of ${services} only after ${drill.recoverySeconds} s (${describeBand(options.bands, drill.recoverySeconds)}; full credit within ${options.bands[0]!.maxSeconds} s): its readiness probe takes periodSeconds × failureThreshold to notice.`,
          location: probeLine,
          subject: out,
        });
      }
    }

    // Once out, no request should fail; when it never was, what the clients saw all along.
    const seen = drill.afterOut ?? drill.untilOut;
    let afterOk = false;
    if (!seen) {
      reporter.report({
        message: `${services} was not probed during the readiness-gate drill: ${context.main.serviceProblem ?? 'there is no Service to probe'}.`,
        location: workloadLocation(workload),
        subject: after,
      });
    } else if (seen.ratio >= options.minSuccessRatio) {
      afterOk = true;
    } else {
      const single = (drill.desired ?? workload.workload.replicas ?? 1) < 2;
      reporter.report({
        message:
          drill.afterOut !== undefined
            ? `After pod ${pod} was taken out, ${services} still answered only ${seen.ok} of ${seen.total} requests (${percent(seen.ratio)}; at least ${percent(options.minSuccessRatio)} expected), first failure: ${seen.firstFailure ?? 'none'}${single ? `: ${workload.subject} runs a single replica, so no other pod could take its traffic` : ''}.`
            : `While pod ${pod} was not accepting connections, ${services} answered only ${seen.ok} of ${seen.total} requests (${percent(seen.ratio)}; at least ${percent(options.minSuccessRatio)} expected): the requests routed to that pod failed, first failure: ${seen.firstFailure ?? 'none'}.`,
        location: single && drill.afterOut !== undefined ? replicasLocation(workload) : probeLine,
        subject: after,
      });
    }
    if (drill.untilOut && drill.afterOut) {
      reporter.evidence(
        'readiness-gate-requests',
        `until the pod was out: ${drill.untilOut.ok}/${drill.untilOut.total} answered; once it was out: ${drill.afterOut.ok}/${drill.afterOut.total} answered`,
      );
    }
    reporter.credit((outCredit + (afterOk ? 1 : 0)) / 2);
    reporter.summary(
      `${outSummary}; ${seen ? `${seen.ok}/${seen.total} requests answered ${drill.afterOut ? 'once it was out' : 'while it was failing'}` : 'not probed'}`,
    );
  },
});
