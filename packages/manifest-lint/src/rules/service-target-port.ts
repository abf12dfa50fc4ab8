import { z } from 'zod';
import { asArray, asString, isRecord } from '../model/object.js';
import { containerPorts } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

export const serviceTargetPort = defineRule({
  id: 'lint/service-target-port',
  title: 'Service targetPorts reach a port the selected pods declare',
  rationale:
    "The port triangle: a Service's targetPort must be a containerPort (by number or name) of the pods it selects, and the app must listen there. A mismatch gives connection refused on every request while the pods look healthy. (A numeric targetPort in pods that declare no ports at all is only a note: Kubernetes does not require declaring it.)",
  severity: 'error',
  fixHint: hint(
    'Use the container port\'s name as targetPort; a quoted number ("8080") is a port *name* to Kubernetes.',
    `
# Service
ports:
  - name: http
    port: 80
    targetPort: http
# Deployment container
ports:
  - name: http
    containerPort: 8080`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const { service, spec, selector } of context.index.selectingServices()) {
      const workloads = context.index.podsSelectedBy(selector, service.namespace);
      if (workloads.length === 0) continue; // lint/service-selector reports it
      asArray(spec.ports).forEach((port, i) => {
        if (!isRecord(port)) return;
        const label = asString(port.name) ?? String(port.port);
        const subject = `${service.ref} port ${label}`;
        reporter.examine(subject);
        const target = port.targetPort ?? port.port;
        const location = service.locate(['spec', 'ports', i, port.targetPort === undefined ? 'port' : 'targetPort']);
        if (typeof target === 'string' && /^\d+$/.test(target)) {
          reporter.report({
            subject,
            message: `targetPort "${target}" of ${service.ref} is a quoted number, which Kubernetes reads as a port name; write ${target} without quotes`,
            location,
          });
          return;
        }
        const misses = workloads.filter((w) => {
          const ports = [...w.containers, ...w.initContainers.filter((c) => c.sidecar)].flatMap(containerPorts);
          return !ports.some((p) => (typeof target === 'number' ? p.number === target : p.name === target));
        });
        if (misses.length === 0) return;
        const declaresNone = (w: (typeof misses)[number]) =>
          [...w.containers, ...w.initContainers.filter((c) => c.sidecar)].flatMap(containerPorts).length === 0;
        if (typeof target === 'number' && misses.every(declaresNone)) {
          // Kubernetes routes a numeric targetPort whether or not a container declares it: a note, not an error.
          reporter.report({
            subject,
            severity: 'info',
            message: `${service.ref} sends port ${label} to port ${target}, which ${misses.map((w) => w.subject).join(', ')} do${misses.length === 1 ? 'es' : ''} not declare (no container ports at all); that works if the app listens there, and declaring the port (named) documents it and lets the Service use the name`,
            location,
          });
          return;
        }
        const declared = [
          ...new Set(
            misses
              .flatMap((w) => w.containers.flatMap(containerPorts))
              .map((p) => (p.name ? `${p.name}/${p.number}` : String(p.number))),
          ),
        ];
        reporter.report({
          subject,
          message: `${service.ref} sends port ${label} to ${typeof target === 'number' ? `port ${target}` : `the port named "${String(target)}"`}, but ${misses.map((w) => w.subject).join(', ')} declare${misses.length === 1 ? 's' : ''} ${declared.length ? `only ${declared.join(', ')}` : 'no container ports'}`,
          location,
        });
      });
    }
  },
});
