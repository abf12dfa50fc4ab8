import { z } from 'zod';
import { asArray, asRecord, asString } from '../model/object.js';
import { mayShareNamespace } from '../model/selectors.js';
import { allContainers, REPLICATED_KINDS } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

export const hpaTarget = defineRule({
  id: 'lint/hpa-target',
  title: 'HorizontalPodAutoscalers target a scalable workload that sets requests',
  rationale:
    'An autoscaler whose target does not exist (typo in the name or kind) never scales anything; a CPU or memory utilization target is a percentage of the containers\' requests, so without requests the autoscaler reports "missing request" and does nothing.',
  severity: 'error',
  fixHint: hint(
    'Name the workload exactly (kind, name, apiVersion) and give its containers requests for the resources the HPA measures.',
    `
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: 70 }`,
  ),
  docsUrl:
    'https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#how-does-a-horizontalpodautoscaler-work',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const hpa of context.index.ofKind('HorizontalPodAutoscaler')) {
      const subject = hpa.ref;
      reporter.examine(subject);
      const target = asRecord(hpa.get(['spec', 'scaleTargetRef']));
      const kind = asString(target.kind) ?? '';
      const name = asString(target.name) ?? '';
      const workload = context.index.workload(kind, name, hpa.namespace);
      if (!workload) {
        const sameName = context.index.workloads.find(
          (w) => w.object.name === name && mayShareNamespace(w.object.namespace, hpa.namespace),
        );
        reporter.report({
          subject,
          message: sameName
            ? `${subject} targets ${kind} "${name}", but "${name}" is a ${sameName.kind}`
            : `${subject} targets ${kind} "${name}", which is not in the repository${
                context.index.workloads.length
                  ? ` (workloads: ${context.index.workloads
                      .filter((w) => REPLICATED_KINDS.has(w.kind))
                      .map((w) => w.subject)
                      .slice(0, 4)
                      .join(', ')})`
                  : ''
              }`,
          location: hpa.locate(['spec', 'scaleTargetRef', sameName ? 'kind' : 'name']),
        });
        continue;
      }
      if (!REPLICATED_KINDS.has(workload.kind)) {
        reporter.report({
          subject,
          message: `${subject} targets ${workload.subject}, which cannot be scaled`,
          location: hpa.locate(['spec', 'scaleTargetRef', 'kind']),
        });
        continue;
      }
      // Utilization targets need requests on every container.
      const utilization: Array<{ resource: string; path: (string | number)[] }> = [];
      if (typeof hpa.get(['spec', 'targetCPUUtilizationPercentage']) === 'number') {
        utilization.push({ resource: 'cpu', path: ['spec', 'targetCPUUtilizationPercentage'] });
      }
      asArray(hpa.get(['spec', 'metrics'])).forEach((metric, i) => {
        const m = asRecord(metric);
        const resource = asRecord(m.type === 'ContainerResource' ? m.containerResource : m.resource);
        if (
          (m.type === 'Resource' || m.type === 'ContainerResource') &&
          asRecord(resource.target).type === 'Utilization'
        ) {
          utilization.push({
            resource: String(resource.name),
            path: ['spec', 'metrics', i, m.type === 'Resource' ? 'resource' : 'containerResource', 'name'],
          });
        }
      });
      for (const { resource, path } of utilization) {
        const without = allContainers(workload)
          .filter((c) => !c.init || c.sidecar)
          .filter((c) => {
            const r = asRecord(c.value.resources);
            return asRecord(r.requests)[resource] === undefined && asRecord(r.limits)[resource] === undefined;
          });
        if (without.length === 0) continue;
        reporter.report({
          subject,
          message: `${subject} scales on ${resource} utilization but container${without.length === 1 ? '' : 's'} ${without.map((c) => `"${c.name}"`).join(', ')} of ${workload.subject} request${without.length === 1 ? 's' : ''} no ${resource}; the autoscaler cannot compute utilization`,
          location: hpa.locate(path),
        });
      }
    }
  },
});
