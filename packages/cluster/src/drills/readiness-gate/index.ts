/**
 * Readiness gate: one replica of the workload stops accepting connections,
 * without being killed (as a hung process, an exhausted worker pool or a lost
 * dependency leaves it), and the Service must move traffic away from it.
 *
 * How: a packet filter rule in the pod's node rejects every TCP connection to
 * that one pod's address (`REJECT --reject-with tcp-reset`, in OUTPUT for the
 * kubelet's probes and the node's own clients, in FORWARD for clients on other
 * nodes). Nothing in the pod is touched: the app keeps running and would answer
 * again as soon as the rule is gone. Its readiness probe (httpGet, tcpSocket or
 * grpc on any port) fails like every client's request; after
 * `periodSeconds × failureThreshold` the kubelet marks the pod not Ready and the
 * EndpointSlice controller takes it out of the Service's endpoints. Without a
 * readiness probe nothing ever does, and a share of the Service's requests keep
 * failing. Measured: when the pod was marked not Ready, when every EndpointSlice
 * listing it showed it not ready, and what the Service answered before and
 * after. Then the rule is removed and the pod is watched until it is Ready
 * again (not graded).
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, readyPods } from '../../kube.js';
import type { ProbeSummary } from '../../probe.js';
import {
  byName,
  completedDrill,
  drillEvents,
  getWorkload,
  isPodReady,
  listPods,
  notRun,
  seconds,
  type DrillContext,
  type DrillResult,
} from '../common.js';
import { defineDrill, drillRunSettings, type DrillTarget } from '../contract.js';
import { Timeline, drillStart, probeWindow, stopProbeSamples, type PodDetail, type ProbeRecord } from '../observe.js';

export const readinessGateSettings = z.strictObject({
  ...drillRunSettings,
  /** How long the Service has to take the failing replica out of its endpoints (no credit after). */
  timeoutSeconds: z.number().positive().max(600).default(45),
  /**
   * Once it is out, how long the Service's answers are watched before the fault
   * is lifted. Short, so that the block stays shorter than a liveness probe
   * needs to restart the container (a liveness restart is the drill's, and is
   * reported as such, but it is not what this drill measures).
   */
  observeSeconds: z.number().positive().max(300).default(5),
  /** After the fault is lifted, how long to wait for the pod to be Ready again (not graded). */
  restoreTimeoutSeconds: z.number().positive().max(600).default(60),
});
export type ReadinessGateSettings = z.infer<typeof readinessGateSettings>;

export type ReadinessProbeKind = 'network' | 'exec' | 'none';

export interface ReadinessGateResult extends DrillResult {
  pod?: string;
  node?: string;
  /** The Services whose endpoints listed the pod, by name. */
  services?: string[];
  /** What the workload's containers declare: a probe over the network (httpGet, tcpSocket, grpc), exec only, or none. */
  readinessProbe?: ReadinessProbeKind;
  /** Seconds until the kubelet marked the pod not Ready. */
  notReadySeconds?: number;
  /** Seconds until no EndpointSlice listed it as ready (= recoverySeconds: traffic moved away). */
  outSeconds?: number;
  /** What the Service answered until it was taken out (all of the drill when it never was). */
  untilOut?: ProbeSummary;
  /** What the Service answered once it was out (after kube-proxy's update): no errors expected. */
  afterOut?: ProbeSummary;
  /** Seconds after the fault was lifted until the pod was Ready again (not graded). */
  readyAgainSeconds?: number;
  /** The workload's desired replicas: with one, nothing is left to take the traffic. */
  desired?: number;
}

/** kube-proxy on the probing node needs a moment after the EndpointSlice changed. */
export const ENDPOINT_SETTLE_MS = 2_000;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

interface Slice {
  metadata: { name: string; labels?: Record<string, string> };
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean };
    targetRef?: { kind?: string; name?: string };
  }[];
}

/** Services whose EndpointSlices list the pod as ready. */
function routedBy(slices: readonly Slice[], pod: string): string[] {
  const out = new Set<string>();
  for (const slice of slices) {
    for (const e of slice.endpoints ?? []) {
      if (e.targetRef?.kind === 'Pod' && e.targetRef.name === pod && e.conditions?.ready !== false) {
        out.add(slice.metadata.labels?.['kubernetes.io/service-name'] ?? slice.metadata.name);
      }
    }
  }
  return [...out].sort();
}

function probeKind(target: Pick<DrillTarget, 'workload'>): ReadinessProbeKind {
  let kind: ReadinessProbeKind = 'none';
  for (const c of target.workload.workload.containers) {
    const probe = c.value.readinessProbe;
    if (!probe || typeof probe !== 'object') continue;
    const p = probe as Record<string, unknown>;
    if (p.httpGet || p.tcpSocket || p.grpc) return 'network';
    if (p.exec) kind = 'exec';
  }
  return kind;
}

export function chainFor(ip: string): string {
  return `LABGRADER-RDY-${ip.replace(/\./g, '-')}`;
}

/** Rejects every TCP connection to the pod's address, in the node (idempotent). */
export function blockScript(ip: string): string {
  const chain = chainFor(ip);
  return [
    'set -e',
    `iptables -w -N ${chain} 2>/dev/null || iptables -w -F ${chain}`,
    `iptables -w -A ${chain} -d ${ip}/32 -p tcp -j REJECT --reject-with tcp-reset`,
    `iptables -w -C OUTPUT -j ${chain} 2>/dev/null || iptables -w -I OUTPUT 1 -j ${chain}`,
    `iptables -w -C FORWARD -j ${chain} 2>/dev/null || iptables -w -I FORWARD 1 -j ${chain}`,
  ].join('\n');
}

export function unblockScript(ip: string): string {
  const chain = chainFor(ip);
  return [
    `while iptables -w -D OUTPUT -j ${chain} 2>/dev/null; do :; done`,
    `while iptables -w -D FORWARD -j ${chain} 2>/dev/null; do :; done`,
    `iptables -w -F ${chain} 2>/dev/null || true`,
    `iptables -w -X ${chain} 2>/dev/null || true`,
    `! iptables -w -S ${chain} >/dev/null 2>&1`,
  ].join('\n');
}

async function runReadinessGate(ctx: DrillContext, settings: ReadinessGateSettings): Promise<ReadinessGateResult> {
  const { timeoutSeconds } = settings;
  const w = ctx.workload;
  const nodeAccess = ctx.nodeAccess;
  if (!nodeAccess) return notRun('readiness-gate', 'unsupported', NO_NODE_ACCESS, timeoutSeconds);
  const readinessProbe = probeKind({ workload: w });
  const from = ctx.transcript.length;
  const desired = desiredReplicas(await getWorkload(ctx, true));
  const pods = readyPods(await listPods(ctx, true)).sort(byName) as PodDetail[];
  const victim = pods.find((p) => p.status.podIP && IPV4.test(p.status.podIP) && p.spec.nodeName);
  if (!victim) {
    return {
      ...notRun('readiness-gate', 'not-run', `${w.subject} has no Ready pod with an IPv4 address`, timeoutSeconds),
      readinessProbe,
    };
  }
  const pod = victim.metadata.name;
  const node = victim.spec.nodeName!;
  const ip = victim.status.podIP!;
  const slicesOf = async () =>
    (
      await ctx.kubectl.json<{ items: Slice[] }>(['-n', w.namespace, 'get', 'endpointslices'], {
        unrecorded: true,
      })
    ).items;
  const services = routedBy(await slicesOf(), pod);
  if (services.length === 0) {
    return {
      ...notRun(
        'readiness-gate',
        'not-run',
        `no Service routes to pod ${pod} (no EndpointSlice lists it as ready), so there is no traffic to move`,
        timeoutSeconds,
      ),
      pod,
      readinessProbe,
    };
  }
  const restartsOf = (p: PodDetail | undefined) =>
    new Map((p?.status.containerStatuses ?? []).map((s) => [s.name, s.restartCount]));
  const restartsBefore = restartsOf(victim);
  const restartedContainers: { pod: string; container: string }[] = [];
  ctx.progress(`readiness gate: pod ${pod} stops accepting connections (packet filter in ${node})`);

  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  const running = ctx.prober?.start((timeoutSeconds + settings.observeSeconds + 60) * 1000);
  let record: ProbeRecord;
  let notReadyMs: number | undefined;
  let outMs: number | undefined;
  let attempted = false;
  let liftedMs: number;
  try {
    attempted = true;
    const block = await nodeAccess.exec(node, ['sh', '-c', blockScript(ip)]);
    if (block.exitCode !== 0) {
      throw new InfrastructureError(`the packet filter rule in node ${node} failed: ${firstLine(block.stderr)}`);
    }
    timeline.markAt(
      0,
      `pod ${pod} (${ip}, node ${node}) stops accepting connections: every TCP connection to it is refused; the app keeps running`,
    );
    for (;;) {
      const elapsed = timeline.elapsedMs();
      if (outMs !== undefined && elapsed >= outMs + settings.observeSeconds * 1000) break;
      if (outMs === undefined && elapsed >= timeoutSeconds * 1000) break;
      await ctx.sleep(ctx.config.pollIntervalMs);
      const now = (await listPods(ctx)) as PodDetail[];
      const same = now.find((p) => p.metadata.name === pod);
      if (notReadyMs === undefined && same && !isPodReady(same)) {
        notReadyMs = timeline.elapsedMs();
        timeline.mark(`pod ${pod} not Ready: its readiness probe fails`, 'not-ready');
      }
      for (const [container, count] of restartsOf(same)) {
        const before = restartsBefore.get(container) ?? 0;
        for (let n = before; n < count; n++) {
          restartedContainers.push({ pod, container });
          timeline.mark(`container ${container} of pod ${pod} restarted (its liveness probe fails too)`);
        }
        restartsBefore.set(container, count);
      }
      if (outMs === undefined && routedBy(await slicesOf(), pod).length === 0) {
        outMs = timeline.elapsedMs();
        // The EndpointSlice follows the pod's Ready condition, which this poll may have read just before it changed.
        if (notReadyMs === undefined) {
          notReadyMs = outMs;
          timeline.markAt(outMs, `pod ${pod} not Ready: its readiness probe fails`, 'not-ready');
        }
        timeline.mark(
          `taken out of the endpoints of ${services.map((s) => `Service ${s}`).join(', ')}: traffic goes to the other pods`,
          'out',
        );
      }
    }
  } finally {
    liftedMs = timeline.elapsedMs();
    if (attempted) {
      // Even after an abort: on an existing cluster the pod's address is reused by someone else's pod later.
      const lifted = await nodeAccess.docker
        .run(['exec', node, 'sh', '-c', unblockScript(ip)], { signal: null, timeoutMs: 30_000 })
        .catch((err: unknown) => ({ exitCode: 1, stderr: String(err) }));
      if (lifted.exitCode !== 0) {
        ctx.progress(`readiness gate: removing the packet filter rule in ${node} failed: ${firstLine(lifted.stderr)}`);
      }
    }
    record = await stopProbeSamples(ctx, running, start);
  }
  if (outMs === undefined) {
    timeline.markAt(liftedMs, `still in the Service's endpoints ${timeoutSeconds} s after it stopped answering`, 'out');
  }
  timeline.markAt(liftedMs, `fault lifted: connections to pod ${pod} are accepted again`);
  let readyAgainMs: number | undefined;
  while (timeline.elapsedMs() - liftedMs < settings.restoreTimeoutSeconds * 1000) {
    const same = (await listPods(ctx)).find((p) => p.metadata.name === pod);
    if (!same || isPodReady(same)) {
      readyAgainMs = timeline.elapsedMs() - liftedMs;
      timeline.mark(same ? `pod ${pod} Ready again` : `pod ${pod} is gone (replaced)`);
      break;
    }
    await ctx.sleep(ctx.config.pollIntervalMs);
  }

  const untilOut = probeWindow(record, 0, outMs === undefined ? liftedMs : outMs + ENDPOINT_SETTLE_MS);
  const afterOut = outMs === undefined ? undefined : probeWindow(record, outMs + ENDPOINT_SETTLE_MS, liftedMs);
  const events = await drillEvents(ctx, new Set([pod]), start.wallMs);
  const failed = untilOut ? untilOut.total - untilOut.ok : 0;
  return {
    ...completedDrill({
      scenario: 'readiness-gate',
      recoveredMs: outMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: record.summary,
      narrate: (out) =>
        [
          `pod ${pod} stopped accepting connections (packet filter in node ${node}), without being killed`,
          notReadyMs === undefined
            ? 'it was never marked not Ready'
            : `marked not Ready after ${seconds(notReadyMs)} s`,
          out === undefined
            ? `still in the endpoints of ${services.join(', ')} after ${timeoutSeconds} s`
            : `out of the endpoints of ${services.join(', ')} after ${out} s`,
          untilOut ? `${failed} of ${untilOut.total} requests failed until then` : '',
          afterOut ? `${afterOut.ok}/${afterOut.total} answered after it was out` : '',
        ]
          .filter(Boolean)
          .join('; '),
    }),
    pod,
    node,
    services,
    readinessProbe,
    desired,
    ...(notReadyMs !== undefined ? { notReadySeconds: seconds(notReadyMs) } : {}),
    ...(outMs !== undefined ? { outSeconds: seconds(outMs) } : {}),
    ...(untilOut ? { untilOut } : {}),
    ...(afterOut ? { afterOut } : {}),
    ...(readyAgainMs !== undefined ? { readyAgainSeconds: seconds(readyAgainMs) } : {}),
    ...(restartedContainers.length ? { restartedContainers } : {}),
    timeline: timeline.entries,
  };
}

export const NO_NODE_ACCESS =
  'this target gives no access to the nodes (existing cluster with nodeAccess: none), so no packet filter rule can make one replica stop answering';

export const readinessGate = defineDrill({
  id: 'readiness-gate',
  settingsKey: 'readinessGate',
  description:
    "Makes one Ready replica stop accepting connections without killing it (a packet filter rule in its node refuses every TCP connection to the pod's address) and measures the time until its readiness probe takes it out of the Service's endpoints, and whether the Service answers without errors once it is out.",
  settings: readinessGateSettings,
  gradedBy: ['cluster/readiness-gate'],
  unsupported: (target) => (target.nodeAccess ? undefined : NO_NODE_ACCESS),
  run: runReadinessGate,
});
