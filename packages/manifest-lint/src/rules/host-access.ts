import { z } from 'zod';
import { asArray, asRecord, isRecord } from '../model/object.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation, podSpecLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const hostAccess = defineRule({
  id: 'lint/host-access',
  title: "Pods do not share the node's namespaces, files or privileges",
  rationale:
    "Privileged containers, hostPath volumes and the host's network, PID or IPC namespaces remove the isolation between a pod and its node: one compromised app owns the node and every pod on it.",
  severity: 'error',
  fixHint: hint(
    'Remove host access; use emptyDir or a PersistentVolumeClaim for storage and a Service for networking.',
    `
spec:
  hostNetwork: false
  volumes:
    - name: cache
      emptyDir: {}
  containers:
    - name: web
      securityContext:
        privileged: false`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline',
  options: z
    .object({
      /** Report containers' hostPort (binds a port on the node; limits scheduling to one pod per node). */
      flagHostPort: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      const subject = workload.subject;
      reporter.examine(subject);
      for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
        if (workload.podSpec[field] === true)
          reporter.report({
            subject,
            message: `${subject} sets ${field}: true, sharing the node's ${field.slice(4)} namespace`,
            location: podSpecLocation(workload, [field]),
          });
      }
      asArray(workload.podSpec.volumes).forEach((volume, i) => {
        if (isRecord(volume) && isRecord(volume.hostPath)) {
          reporter.report({
            subject,
            message: `${subject} mounts the node's ${String(volume.hostPath.path ?? 'filesystem')} through the hostPath volume "${String(volume.name)}"`,
            location: podSpecLocation(workload, ['volumes', i, 'hostPath'], 'key'),
          });
        }
      });
      for (const container of allContainers(workload)) {
        const sc = asRecord(container.value.securityContext);
        if (sc.privileged === true) {
          reporter.report({
            subject,
            message: `Container "${container.name}" of ${subject} is privileged: it has full access to the node`,
            location: containerLocation(container, ['securityContext', 'privileged']),
          });
        }
        if (sc.procMount === 'Unmasked') {
          reporter.report({
            subject,
            message: `Container "${container.name}" of ${subject} unmasks /proc`,
            location: containerLocation(container, ['securityContext', 'procMount']),
          });
        }
        if (options.flagHostPort) {
          asArray(container.value.ports).forEach((port, i) => {
            if (isRecord(port) && typeof port.hostPort === 'number' && port.hostPort > 0) {
              reporter.report({
                subject,
                severity: 'warning',
                message: `Container "${container.name}" of ${subject} binds hostPort ${port.hostPort} on the node: only one such pod fits per node`,
                location: containerLocation(container, ['ports', i, 'hostPort']),
              });
            }
          });
        }
      }
    }
  },
});
