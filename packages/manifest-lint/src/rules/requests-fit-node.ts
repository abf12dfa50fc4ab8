import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { formatCpu, formatMemory, parseQuantity, quantityOf } from '../model/quantity.js';
import type { Container } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

function request(container: Container, name: string): number {
  const resources = asRecord(container.value.resources);
  // An unset request defaults to the limit.
  return quantityOf(asRecord(resources.requests)[name]) ?? quantityOf(asRecord(resources.limits)[name]) ?? 0;
}

export const requestsFitNode = defineRule({
  id: 'lint/requests-fit-node',
  title: "A pod's requests fit on a node",
  rationale:
    "A pod is scheduled only on a node with enough unreserved capacity for the sum of its containers' requests (or its largest init container): ask for more than a node has and the pod stays Pending forever.",
  severity: 'error',
  fixHint: hint(
    'Lower the requests below what one node offers (the rubric states the node size), or split the work across more pods.',
    `
resources:
  requests:
    cpu: 250m      # a node has 2 CPUs
    memory: 256Mi  # and 4Gi of memory`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/#kube-scheduler-implementation',
  options: z
    .object({
      /** Share of the node size that pods can actually use (the rest is reserved for the system). */
      allocatableFraction: z.number().gt(0).max(1).default(1),
    })
    .strict(),
  run(context, options, reporter) {
    const node = {
      cpu: parseQuantity(context.settings.nodeSize.cpu)! * options.allocatableFraction,
      memory: parseQuantity(context.settings.nodeSize.memory)! * options.allocatableFraction,
    };
    for (const workload of context.index.workloads) {
      if (workload.containers.length === 0) continue;
      reporter.examine(workload.subject);
      for (const name of ['cpu', 'memory'] as const) {
        // Effective pod request: max(sum of app containers + sidecars, largest init container + sidecars started before it).
        const sidecars = workload.initContainers.filter((c) => c.sidecar);
        const app = [...workload.containers, ...sidecars].reduce((sum, c) => sum + request(c, name), 0);
        let peak = app;
        let sidecarSum = 0;
        let culprit: Container | undefined;
        for (const init of workload.initContainers) {
          if (init.sidecar) {
            sidecarSum += request(init, name);
            continue;
          }
          const value = sidecarSum + request(init, name);
          if (value > peak) {
            peak = value;
            culprit = init;
          }
        }
        if (peak <= node[name]) continue;
        const biggest =
          culprit ??
          [...workload.containers, ...sidecars].reduce(
            (a, b) => (request(b, name) > request(a, name) ? b : a),
            workload.containers[0]!,
          );
        const format = name === 'cpu' ? formatCpu : formatMemory;
        const resources = asRecord(biggest.value.resources);
        const field = asRecord(resources.requests)[name] !== undefined ? 'requests' : 'limits';
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} needs ${format(peak)} ${name} on one node but a node has ${format(node[name])}; the pod would stay Pending`,
          location: containerLocation(biggest, ['resources', field, name]),
        });
      }
    }
  },
});
