import { z } from 'zod';
import type { CheckDefinition, Evidence, Finding, SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { SCENARIOS } from '../settings.js';
import { availabilityLocation, containerField, evidence, finding, workloadLocation } from './shared.js';

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

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

export const serviceAvailability: CheckDefinition<ClusterContext, ServiceAvailabilityOptions> = {
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
  check(context, options) {
    const findings: Finding[] = [];
    const ev: Evidence[] = [];
    let examined = 0;
    let passed = 0;
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
    const notProbed = context.drillsSkipped ?? context.main.workloadProblem ?? context.main.serviceProblem;

    // Nothing could be probed (no workload, no Service, the workload never Ready): one finding for every subject.
    if (notProbed && !context.baseline) {
      const scenarios = options.during.filter((s) => !context.disabled.includes(s) && !context.unsupported[s]);
      const count = (options.includeBaseline ? 1 : 0) + scenarios.length;
      if (count === 0) return { findings, examined: 0, passed: 0 };
      const location = workload ? workloadLocation(workload) : serviceLocation();
      const what = [
        ...(options.includeBaseline ? ['answers at all'] : []),
        ...(scenarios.length
          ? [`keeps answering during the ${scenarios.join(', ')} drill${scenarios.length === 1 ? '' : 's'}`]
          : []),
      ].join(' or ');
      findings.push(
        finding(serviceAvailability, {
          message: `Whether ${subject} ${what} could not be checked: ${notProbed}.`,
          ...(location ? { location } : {}),
          subject,
        }),
      );
      return { findings, examined: count, passed: 0, summary: `not probed (${notProbed})` };
    }

    if (options.includeBaseline) {
      examined += 1;
      const baseline = context.baseline;
      if (baseline?.answered) {
        passed += 1;
        ev.push(
          evidence(
            serviceAvailability,
            'baseline',
            `${subject} answered after ${baseline.afterSeconds} s (${baseline.attempts} request${baseline.attempts === 1 ? '' : 's'}, via ${baseline.via})`,
          ),
        );
      } else {
        const location = baseline ? serviceLocation() : workload ? workloadLocation(workload) : serviceLocation();
        findings.push(
          finding(serviceAvailability, {
            message: baseline
              ? `${subject} did not answer within ${baseline.afterSeconds} s although the pods were Ready (${baseline.attempts} requests, last: ${baseline.lastFailure ?? 'no answer'}): check its selector, port and targetPort.`
              : `${subject} could not be probed: ${context.main.serviceProblem ?? 'there is no Service to probe'}.`,
            ...(location ? { location } : {}),
            subject: `${subject} answers`,
          }),
        );
      }
    }

    for (const scenario of options.during) {
      const drill = context.drills[scenario];
      if (context.disabled.includes(scenario) || context.unsupported[scenario]) continue;
      if (drill?.status === 'unsupported') continue;
      if (!drill && !context.baseline) continue;
      if (!drill) throw new Error(`the ${scenario} drill did not run although cluster/service-availability grades it`);
      if (drill.status === 'not-run' || !drill.probe) {
        examined += 1;
        const location = workload ? workloadLocation(workload) : serviceLocation();
        findings.push(
          finding(serviceAvailability, {
            message: `${subject} was not probed during the ${scenario} drill: ${drill.reason ?? context.main.serviceProblem ?? 'there is no Service to probe'}.`,
            ...(location ? { location } : {}),
            subject: `${subject} during ${scenario}`,
          }),
        );
        continue;
      }
      examined += 1;
      const probe = drill.probe;
      ev.push(
        evidence(
          serviceAvailability,
          `during-${scenario}`,
          `${probe.ok}/${probe.total} requests answered (${percent(probe.ratio)}), longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s, via ${probe.via}`,
        ),
      );
      if (probe.ratio >= options.minSuccessRatio) {
        passed += 1;
        continue;
      }
      const desired = 'desired' in drill ? (drill as { desired?: number }).desired : undefined;
      const location = !workload
        ? serviceLocation()
        : scenario === 'bad-rollout' || (desired ?? workload.workload.replicas ?? 1) < 2
          ? availabilityLocation(workload, desired)
          : containerField(workload, 'readinessProbe');
      findings.push(
        finding(serviceAvailability, {
          message: `During the ${scenario} drill ${subject} answered only ${probe.ok} of ${probe.total} requests (${percent(probe.ratio)}; at least ${percent(options.minSuccessRatio)} expected); longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s, first failure: ${probe.firstFailure ?? 'none'}.`,
          ...(location ? { location } : {}),
          subject: `${subject} during ${scenario}`,
        }),
      );
    }
    return { findings, evidence: ev, examined, passed };
  },
};
