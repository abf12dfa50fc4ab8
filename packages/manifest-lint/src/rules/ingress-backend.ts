import { z } from 'zod';
import { asArray, asRecord, asString, isRecord, type KubeObject } from '../model/object.js';
import type { Path } from '../yaml/parse.js';
import { defineRule, hint } from './support/rule.js';

export const ingressBackend = defineRule({
  id: 'lint/ingress-backend',
  title: 'Ingress backends name an existing Service and port',
  rationale:
    'An Ingress whose backend names a Service or port that does not exist answers 503 for that path; the controller cannot tell you why unless you read its logs.',
  severity: 'error',
  fixHint: hint(
    "Use the Service's `metadata.name` and one of its `spec.ports` (the `port` number or its `name`, not the targetPort).",
    `
backend:
  service:
    name: web        # Service metadata.name
    port:
      name: http     # or number: 80 (the Service port)`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/ingress/#the-ingress-resource',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const ingress of context.index.ofKind('Ingress')) {
      const backends: Path[] = [];
      if (isRecord(ingress.get(['spec', 'defaultBackend', 'service']))) backends.push(['spec', 'defaultBackend']);
      asArray(ingress.get(['spec', 'rules'])).forEach((rule, r) => {
        asArray(asRecord(asRecord(rule).http).paths).forEach((p, i) => {
          if (isRecord(asRecord(asRecord(p).backend).service))
            backends.push(['spec', 'rules', r, 'http', 'paths', i, 'backend']);
        });
      });
      for (const path of backends) checkBackend(ingress, path);
    }

    function checkBackend(ingress: KubeObject, path: Path): void {
      const service = asRecord(ingress.get([...path, 'service']));
      const name = asString(service.name);
      const port = asRecord(service.port);
      const portLabel = port.name !== undefined ? String(port.name) : String(port.number);
      const subject = `${ingress.ref} backend ${name}:${portLabel}`;
      reporter.examine(subject);
      if (!name) return;
      const targets = context.index.find('Service', name, ingress.namespace);
      if (targets.length === 0) {
        const others = context.index.ofKind('Service').map((s) => s.name);
        reporter.report({
          subject,
          message: `${ingress.ref} routes to Service "${name}", which is not in the repository${others.length ? ` (Services: ${[...new Set(others)].slice(0, 5).join(', ')})` : ''}`,
          location: ingress.locate([...path, 'service', 'name']),
        });
        return;
      }
      const servicePorts = asArray(targets[0]!.get(['spec', 'ports'])).filter(isRecord);
      const ok =
        port.name !== undefined
          ? servicePorts.some((p) => p.name === port.name)
          : servicePorts.some((p) => p.port === port.number);
      if (ok) return;
      const available = servicePorts
        .map((p) => (p.name ? `${String(p.name)} (${String(p.port)})` : String(p.port)))
        .join(', ');
      const usesTarget = port.number !== undefined && servicePorts.some((p) => p.targetPort === port.number);
      reporter.report({
        subject,
        message: `${ingress.ref} routes to port ${portLabel} of Service "${name}", which only exposes ${available || 'no ports'}${usesTarget ? ' (that is the targetPort; use the Service port)' : ''}`,
        location: ingress.locate([...path, 'service', 'port', port.name !== undefined ? 'name' : 'number']),
      });
    }
  },
});
