import { z } from 'zod';
import { defineCheck, type SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { SCENARIOS } from '../settings.js';
import {
  availabilityLocation,
  containerField,
  describeCause,
  notMeaningful,
  percent,
  workloadLocation,
} from './shared.js';

export const serviceAvailabilityOptions = z.strictObject({
  /** Share of requests that must be answered during each drill. */
  minSuccessRatio: z.number().min(0).max(1).default(0.95),
  /**
   * The drills during which the Service is graded. The container kill is not
   * in the default: SIGKILL drops the requests already routed to that pod
   * until the kubelet notices, however well the lab is built.
   */
  during: z.array(z.enum(SCENARIOS)).default(['pod-kill', 'bad-rollout']),
  /** Also grade that the Service answers at all once the workloads are Ready. */
  includeBaseline: z.boolean().default(true),
});
export type ServiceAvailabilityOptions = z.infer<typeof serviceAvailabilityOptions>;

export const serviceAvailability = defineCheck<ClusterContext, ServiceAvailabilityOptions>({
  id: 'cluster/service-availability',
  stage: 'cluster',
  title: 'The Service answers, and keeps answering while pods fail',
  rationale:
    'Users see the Service, not the pods. It must route to Ready pods (selector, port and targetPort wired right), and keep answering while a pod is deleted, a container killed or a release rolled back: that takes several replicas, readiness probes that take a pod out before it stops, and a rolling update that keeps enough pods.',
  severity: 'error',
  fixHint: [
    'Wire the Service to the pods, run several replicas, and let pods leave the endpoints before they stop serving:',
    '',
    '```yaml',
    '# Service',
    'spec:',
    '  selector: { app.kubernetes.io/name: web }',
    '  ports: [{ name: http, port: 80, targetPort: http }]',
    '---',
    '# Deployment',
    'spec:',
    '  replicas: 3',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          ports: [{ name: http, containerPort: 8080 }]',
    '          readinessProbe: { httpGet: { path: /readyz, port: http }, periodSeconds: 5 }',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/service/',
  options: serviceAvailabilityOptions,
  run(context, options, reporter) {
    const workload = context.main.workload;
    const service = context.main.service;
    const serviceLocation = (): SourceLocation | undefined => {
      if (!service) return workload ? workloadLocation(workload) : undefined;
      const ports = service.source.get(['spec', 'ports']);
      const index = Array.isArray(ports)
        ? Math.max(
            0,
            ports.findIndex((p) => (p as { port?: unknown }).port === service.port?.port),
          )
        : 0;
      return service.source.get(['spec', 'ports', index, 'targetPort']) !== undefined
        ? service.source.locate(['spec', 'ports', index, 'targetPort'], 'value')
        : service.source.startLocation();
    };
    const subject = service?.subject ?? workload?.subject ?? 'Service';
    const scenarios = options.during.filter((s) => !context.disabled.includes(s) && !context.unsupported[s]);
    const examined = [
      ...(options.includeBaseline ? [`${subject} answers`] : []),
      ...scenarios.map((s) => `${subject} during ${s}`),
    ];

    if (!context.baseline) {
      // Nothing was probed because the lab failed before (a workload never Ready): reported once, where it failed.
      if (examined.length > 0 && notMeaningful(context, examined, reporter)) return;
      // Nothing could be probed (no workload, no Service): one finding for every subject.
      const notProbed = context.drillsSkipped ?? context.main.workloadProblem ?? context.main.serviceProblem;
      if (notProbed) {
        if (examined.length === 0) return;
        const location = workload ? workloadLocation(workload) : serviceLocation();
        const what = [
          ...(options.includeBaseline ? ['answers at all'] : []),
          ...(scenarios.length
            ? [`keeps answering during the ${scenarios.join(', ')} drill${scenarios.length === 1 ? '' : 's'}`]
            : []),
        ].join(' or ');
        for (const s of examined) reporter.examine(s);
        reporter.report({
          message: `Whether ${subject} ${what} could not be checked: ${notProbed}.`,
          ...(location ? { location } : {}),
          subject,
          alsoFails: examined,
        });
        reporter.summary(`not probed (${notProbed})`);
        return;
      }
    }

    let failing = 0;
    let meaningless = 0;
    let total = 0;
    if (options.includeBaseline) {
      total += 1;
      reporter.examine(`${subject} answers`);
      const baseline = context.baseline;
      if (baseline?.answered) {
        reporter.evidence(
          'baseline',
          `${subject} answered after ${baseline.afterSeconds} s (${baseline.attempts} request${baseline.attempts === 1 ? '' : 's'}, via ${baseline.via})`,
        );
      } else {
        failing += 1;
        const location =
          baseline?.diagnosis?.location ??
          (baseline ? serviceLocation() : workload ? workloadLocation(workload) : serviceLocation());
        const asked = baseline
          ? `${baseline.attempts} requests in ${baseline.afterSeconds} s${baseline.stoppedWaiting ? ', then labgrader stopped waiting: the state is terminal' : ''}`
          : '';
        reporter.report({
          message: !baseline
            ? `${subject} could not be probed: ${context.main.serviceProblem ?? 'there is no Service to probe'}.`
            : baseline.diagnosis
              ? `${subject} never answered although its pods were Ready (${asked}): ${baseline.diagnosis.message}`
              : `${subject} did not answer within ${baseline.afterSeconds} s although the pods were Ready (${baseline.attempts} requests, last: ${baseline.lastFailure ?? 'no answer'}): check its selector, port and targetPort.`,
          ...(location ? { location } : {}),
          subject: `${subject} answers`,
        });
        if (baseline?.stoppedWaiting) reporter.evidence('stopped-waiting', baseline.stoppedWaiting, location);
      }
    }

    for (const scenario of options.during) {
      const drill = context.drills[scenario];
      if (context.disabled.includes(scenario) || context.unsupported[scenario]) continue;
      if (drill?.status === 'unsupported') continue;
      // The drills measured nothing meaningful (nothing was served, or the pods restart by themselves).
      if (context.cause) {
        total += 1;
        reporter.examine(`${subject} during ${scenario}`);
        meaningless += 1;
        continue;
      }
      if (!drill && !context.baseline) continue;
      if (!drill) throw new Error(`the ${scenario} drill did not run although cluster/service-availability grades it`);
      total += 1;
      reporter.examine(`${subject} during ${scenario}`);
      if (drill.status === 'not-run' || !drill.probe) {
        failing += 1;
        const location = workload ? workloadLocation(workload) : serviceLocation();
        reporter.report({
          message: `${subject} was not probed during the ${scenario} drill: ${drill.reason ?? context.main.serviceProblem ?? 'there is no Service to probe'}.`,
          ...(location ? { location } : {}),
          subject: `${subject} during ${scenario}`,
        });
        continue;
      }
      const probe = drill.probe;
      reporter.evidence(
        `during-${scenario}`,
        `${probe.ok}/${probe.total} requests answered (${percent(probe.ratio)}), longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s, via ${probe.via}`,
      );
      if (probe.ratio >= options.minSuccessRatio) continue;
      failing += 1;
      const desired = 'desired' in drill ? (drill as { desired?: number }).desired : undefined;
      const location = !workload
        ? serviceLocation()
        : scenario === 'bad-rollout' || (desired ?? workload.workload.replicas ?? 1) < 2
          ? availabilityLocation(workload, desired)
          : containerField(workload, 'readinessProbe');
      reporter.report({
        message: `During the ${scenario} drill ${subject} answered only ${probe.ok} of ${probe.total} requests (${percent(probe.ratio)}; at least ${percent(options.minSuccessRatio)} expected); longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s, first failure: ${probe.firstFailure ?? 'none'}.`,
        ...(location ? { location } : {}),
        subject: `${subject} during ${scenario}`,
      });
    }
    if (meaningless > 0) {
      // The subjects whose drills mean nothing earn nothing, without a finding of their own.
      reporter.evidence(
        'not-meaningful',
        `the Service was not graded during ${meaningless === 1 ? 'that drill' : 'those drills'}: ${describeCause(context)}`,
        context.cause?.location,
      );
      reporter.credit(Math.max(0, total - meaningless - failing) / total);
      reporter.summary(
        `${options.includeBaseline ? `${failing === 0 ? 'answered' : 'did not answer'}; ` : ''}during the drills: not meaningful, no credit (${describeCause(context)})`,
      );
    }
  },
});
