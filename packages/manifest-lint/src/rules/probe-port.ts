import { z } from 'zod';
import { isRecord } from '../model/object.js';
import { allContainers, containerPorts } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HANDLERS = ['httpGet', 'tcpSocket', 'grpc'] as const;

export const probePort = defineRule({
  id: 'lint/probe-port',
  title: 'Probe ports are ports the container declares',
  rationale:
    'A probe aimed at a port name the container does not declare can never succeed: the kubelet cannot resolve the name, so the pod never becomes ready (or is restarted in a loop). A numeric port needs no declaration (Kubernetes probes whatever the container listens on), but a number that differs from every declared port usually means the app listens elsewhere: that is a warning, and an undeclared number in a container that declares no ports at all is only a note.',
  severity: 'error',
  fixHint: hint(
    'Name the container port and use that name in the probe, so the two cannot drift apart.',
    `
ports:
  - name: http
    containerPort: 8080
readinessProbe:
  httpGet:
    path: /readyz
    port: http   # the name declared above`,
  ),
  docsUrl:
    'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-liveness-http-request',
  options: z
    .object({
      /** Report numeric probe ports that no containerPort declares (the container may still listen there). */
      flagUndeclaredNumbers: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of allContainers(workload)) {
        const ports = containerPorts(container);
        for (const probeName of PROBES) {
          const probe = container.value[probeName];
          if (!isRecord(probe)) continue;
          for (const handler of HANDLERS) {
            const action = probe[handler];
            if (!isRecord(action) || action.port === undefined) continue;
            const subject = `${container.subject} ${probeName}`;
            reporter.examine(subject);
            const port = action.port;
            const location = containerLocation(container, [probeName, handler, 'port']);
            const declared =
              ports.map((p) => (p.name ? `${p.name} (${p.number})` : String(p.number))).join(', ') || 'none';
            if (typeof port === 'string' && !/^\d+$/.test(port)) {
              if (!ports.some((p) => p.name === port)) {
                reporter.report({
                  subject,
                  message: `${probeName} of container "${container.name}" (${workload.subject}) uses port "${port}", but the container declares no port with that name (declared: ${declared})`,
                  location,
                });
              }
            } else if (options.flagUndeclaredNumbers) {
              const number = Number(port);
              if (!ports.some((p) => p.number === number)) {
                // Kubernetes does not require declaring a probed port: a warning when other ports are
                // declared (the probe and the app likely drifted apart), a note when none are.
                reporter.report({
                  subject,
                  severity: ports.length > 0 ? 'warning' : 'info',
                  message:
                    ports.length > 0
                      ? `${probeName} of container "${container.name}" (${workload.subject}) probes port ${number}, but the container declares ${declared}: if the app listens on ${number}, declare it (and name it); otherwise the probe fails`
                      : `${probeName} of container "${container.name}" (${workload.subject}) probes port ${number}, which the container does not declare; that works if the app listens there, and declaring it (named) documents it and lets the probe use the name`,
                  location,
                });
              }
            }
          }
        }
      }
    }
  },
});
