import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { asString, isRecord, type Json } from '../model/object.js';
import { containerPorts, type Container } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

const HANDLERS = ['httpGet', 'tcpSocket', 'grpc', 'exec'] as const;

function handlerOf(probe: Json): Partial<Json> {
  const out: Json = {};
  for (const h of HANDLERS) if (probe[h] !== undefined) out[h] = probe[h];
  return out;
}

/**
 * What a probe checks, as the kubelet runs it: named ports resolved to the
 * container's numbers, defaults filled in (path `/`, scheme HTTP), and HTTP
 * headers left out (they do not change which endpoint answers). Two probes
 * with the same effect fail together.
 */
function effectOf(probe: Json, container: Container): Json | undefined {
  const port = (value: unknown): unknown => {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
    const named = containerPorts(container).find((p) => p.name === value);
    return named ? named.number : value;
  };
  const http = probe.httpGet;
  if (isRecord(http)) {
    return {
      httpGet: {
        host: asString(http.host) ?? '',
        scheme: String(http.scheme ?? 'HTTP').toUpperCase(),
        path: asString(http.path) ?? '/',
        port: port(http.port),
      },
    };
  }
  if (isRecord(probe.tcpSocket))
    return { tcpSocket: { host: asString(probe.tcpSocket.host) ?? '', port: port(probe.tcpSocket.port) } };
  if (isRecord(probe.grpc))
    return { grpc: { port: port(probe.grpc.port), service: asString(probe.grpc.service) ?? '' } };
  if (isRecord(probe.exec)) return { exec: { command: probe.exec.command } };
  return undefined;
}

/** How two probes with the same effect differ as written, for the message. */
function writtenDifferences(a: Json, b: Json): string[] {
  const out: string[] = [];
  const ha = isRecord(a.httpGet) ? a.httpGet : undefined;
  const hb = isRecord(b.httpGet) ? b.httpGet : undefined;
  if (ha && hb && !isDeepStrictEqual(ha.httpHeaders, hb.httpHeaders)) out.push('httpHeaders');
  const portOf = (p: Json) =>
    isRecord(p.httpGet)
      ? p.httpGet.port
      : isRecord(p.tcpSocket)
        ? p.tcpSocket.port
        : isRecord(p.grpc)
          ? p.grpc.port
          : undefined;
  if (portOf(a) !== portOf(b)) out.push(`how the port is written (${show(portOf(a))} and ${show(portOf(b))})`);
  return out;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

export const probesDistinct = defineRule({
  id: 'lint/probes-distinct',
  title: 'Liveness and readiness probes check different things',
  rationale:
    'When liveness checks exactly what readiness checks, a slow dependency or a traffic spike makes the pod both unready and "dead": Kubernetes restarts every replica at once instead of just taking them out of rotation. Liveness should only ask "is this process stuck?".',
  severity: 'warning',
  fixHint: hint(
    'Point liveness at a cheap endpoint that does not check dependencies (or give it a much higher failure threshold); keep dependency checks in readiness.',
    `
readinessProbe:
  httpGet: { path: /readyz, port: http }   # checks the database too
livenessProbe:
  httpGet: { path: /healthz, port: http }  # only "the process answers"
  failureThreshold: 6`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/',
  options: z
    .object({
      /** `handler`: probes with the same effect (endpoint, port, command; named ports resolved, HTTP headers ignored) are identical; `all`: only fully identical probes (timings included). */
      compare: z.enum(['handler', 'all']).default('handler'),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of workload.containers) {
        const { livenessProbe: liveness, readinessProbe: readiness } = container.value;
        if (!isRecord(liveness) || !isRecord(readiness)) continue;
        reporter.examine(container.subject);
        let same: boolean;
        let differences: string[] = [];
        if (options.compare === 'all') same = isDeepStrictEqual(liveness, readiness);
        else {
          const effect = effectOf(liveness, container);
          same = effect !== undefined && isDeepStrictEqual(effect, effectOf(readiness, container));
          if (same && !isDeepStrictEqual(handlerOf(liveness), handlerOf(readiness)))
            differences = writtenDifferences(liveness, readiness);
        }
        if (!same) continue;
        reporter.report({
          subject: container.subject,
          message: `Container "${container.name}" of ${workload.subject} uses the same check for liveness and readiness${
            differences.length > 0
              ? ` (they differ only in ${differences.join(' and in ')}, which do not change what is checked)`
              : ''
          }; a dependency outage would restart every replica`,
          location: containerLocation(container, ['livenessProbe'], 'key'),
        });
      }
    }
  },
});
