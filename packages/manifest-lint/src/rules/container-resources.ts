import { z } from 'zod';
import { asRecord, isRecord } from '../model/object.js';
import { allContainers, type Workload } from '../model/workloads.js';
import type { Path } from '../yaml/parse.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

/**
 * A `resources:` block written above the containers (at pod level, in the
 * pod template, or in the workload spec): the usual indentation slip.
 */
function misplacedResources(workload: Workload): { path: Path; where: string } | undefined {
  const spec = workload.podSpecPath;
  const candidates: Array<{ path: Path; where: string }> = [
    { path: [...spec, 'resources'], where: `at pod level (${spec.join('.')}.resources)` },
  ];
  if (spec.length >= 2) {
    const template = spec.slice(0, -1);
    candidates.push({
      path: [...template, 'resources'],
      where: `in the pod template (${template.join('.')}.resources)`,
    });
  }
  if (spec.length >= 3)
    candidates.push({ path: ['spec', 'resources'], where: `in the ${workload.kind} spec (spec.resources)` });
  return candidates.find((c) => isRecord(workload.object.get(c.path)));
}

export const containerResources = defineRule({
  id: 'lint/container-resources',
  title: 'Containers set CPU and memory requests and limits',
  rationale:
    'Without requests the scheduler packs pods blindly and they are the first evicted under pressure (BestEffort); without a memory limit one leaking container can take the node down with it. Init containers count too: their requests size the pod.',
  severity: 'error',
  fixHint: hint(
    'Give every container and init container requests and limits for cpu and memory, sized from measurements.',
    `
containers:
  - name: web
    resources:
      requests:
        cpu: 100m
        memory: 128Mi
      limits:
        cpu: 500m
        memory: 256Mi`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/',
  options: z
    .object({
      /** Resources every container must request. */
      requests: z.array(z.enum(['cpu', 'memory'])).default(['cpu', 'memory']),
      /** Resources every container must limit (some teams omit CPU limits on purpose; set ["memory"] then). */
      limits: z.array(z.enum(['cpu', 'memory'])).default(['cpu', 'memory']),
      includeInitContainers: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      const containers = options.includeInitContainers ? allContainers(workload) : workload.containers;
      for (const container of containers) {
        reporter.examine(container.subject);
        const resources = asRecord(container.value.resources);
        const missing: string[] = [];
        for (const kind of ['requests', 'limits'] as const) {
          const set = asRecord(resources[kind]);
          // A limit without a request defaults the request to the limit: that is a request.
          const effective = kind === 'requests' ? { ...asRecord(resources.limits), ...set } : set;
          for (const name of options[kind])
            if (effective[name] === undefined || effective[name] === null) missing.push(`${kind}.${name}`);
        }
        if (missing.length === 0) continue;
        const misplaced = container.value.resources === undefined ? misplacedResources(workload) : undefined;
        if (misplaced) {
          reporter.report({
            subject: container.subject,
            message: `${container.init ? 'Init container' : 'Container'} "${container.name}" of ${workload.subject} does not set ${missing.join(', ')}: its resources: block is indented ${misplaced.where} instead of under the container; move it under "- name: ${container.name}"${misplaced.where.startsWith('at pod level') ? ' (pod-level resources are a separate, alpha feature in Kubernetes 1.33, off by default)' : ''}`,
            location: workload.object.locate(misplaced.path, 'key'),
          });
          continue;
        }
        reporter.report({
          subject: container.subject,
          message: `${container.init ? 'Init container' : 'Container'} "${container.name}" of ${workload.subject} does not set ${missing.join(', ')}`,
          // Points at `resources:` when present, else at the container's `name:`.
          location: containerLocation(container, ['resources'], 'key'),
        });
      }
    }
  },
});
