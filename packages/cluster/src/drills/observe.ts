/**
 * What the drills that watch a failure unfold share (readiness gate, Secret
 * rotation, node failure, node drain): a timeline of what was seen, with
 * offsets from the moment the fault was injected; the Service probe's
 * answers split by phase (before and after the cluster reacted); and the
 * nodes and pods of the workload, with the fields those drills read.
 */
import type { Clock } from '@labgrader/core';
import type { Pod } from '../kube.js';
import type { DrillTarget } from './contract.js';
import type { ProbeSample, ProbeSummary, RunningProbe } from '../probe.js';
import { summarizeProbe } from '../probe.js';
import { seconds, type DrillContext } from './common.js';

/** One thing seen during a drill, `atSeconds` after the fault was injected (negative: before). */
export interface TimelineEntry {
  atSeconds: number;
  event: string;
}

/** The moment a drill injected its fault, on both clocks (the node prober stamps its samples with wall time). */
export interface DrillStart {
  wallMs: number;
  monoMs: number;
}

export function drillStart(clock: Clock): DrillStart {
  return { wallMs: clock.now().getTime(), monoMs: clock.monotonicMs() };
}

/** What a drill saw, in order, each event once per key. */
export class Timeline {
  private readonly list: TimelineEntry[] = [];
  private readonly keys = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly start: DrillStart,
  ) {}

  /** Milliseconds since the origin. */
  elapsedMs(): number {
    return this.clock.monotonicMs() - this.start.monoMs;
  }

  /** Records `event` now; with a key, only the first time that key is marked. Returns whether it was recorded. */
  mark(event: string, key?: string): boolean {
    return this.markAt(this.elapsedMs(), event, key);
  }

  markAt(ms: number, event: string, key?: string): boolean {
    if (key !== undefined) {
      if (this.keys.has(key)) return false;
      this.keys.add(key);
    }
    this.list.push({ atSeconds: seconds(ms), event });
    return true;
  }

  get entries(): TimelineEntry[] {
    return [...this.list].sort((a, b) => a.atSeconds - b.atSeconds);
  }
}

/** The timeline as evidence: one line per event, `+12.3 s  node … NotReady`. */
export function formatTimeline(entries: readonly TimelineEntry[]): string {
  return entries
    .map((e) => `${e.atSeconds < 0 ? '-' : '+'}${Math.abs(e.atSeconds).toFixed(1)} s  ${e.event}`)
    .join('\n');
}

/** A probe sample with its time as milliseconds since the drill's start. */
export interface TimedSample {
  offsetMs: number;
  ok: boolean;
  detail: string;
}

/**
 * The node prober stamps samples with the node's clock (epoch milliseconds:
 * kind nodes share the host's clock), the API-server prober with the stage's
 * monotonic clock; either way, the offset from the drill's start.
 */
export function sampleOffsetMs(sample: ProbeSample, start: DrillStart): number {
  return sample.atMs >= 1e12 ? sample.atMs - start.wallMs : sample.atMs - start.monoMs;
}

export interface ProbeRecord {
  summary?: ProbeSummary;
  samples: TimedSample[];
}

/** Stops the probe (if any): its summary, and every sample on the drill's timeline. */
export async function stopProbeSamples(
  ctx: DrillContext,
  running: RunningProbe | undefined,
  start: DrillStart,
): Promise<ProbeRecord> {
  if (!running || !ctx.prober) return { samples: [] };
  const raw = await running.stop();
  return {
    summary: summarizeProbe(ctx.prober.via, raw),
    samples: raw.map((s) => ({ offsetMs: sampleOffsetMs(s, start), ok: s.ok, detail: s.detail })),
  };
}

/** What the Service answered between two offsets (ms, `to` excluded); undefined without a probe. */
export function probeWindow(
  record: ProbeRecord,
  fromMs: number,
  toMs = Number.POSITIVE_INFINITY,
): ProbeSummary | undefined {
  if (!record.summary) return undefined;
  const inside = record.samples.filter((s) => s.offsetMs >= fromMs && s.offsetMs < toMs);
  return summarizeProbe(
    record.summary.via,
    inside.map((s) => ({ atMs: s.offsetMs, ok: s.ok, detail: s.detail })),
  );
}

/**
 * When the Service answered again for good: the first answered request after
 * the last failed one (0 when nothing failed; undefined when the last request
 * failed, or nothing was probed).
 */
export function answeringAgainMs(record: ProbeRecord, fromMs = 0): number | undefined {
  const samples = record.samples.filter((s) => s.offsetMs >= fromMs).sort((a, b) => a.offsetMs - b.offsetMs);
  if (samples.length === 0) return undefined;
  let lastFailure = -1;
  samples.forEach((s, i) => {
    if (!s.ok) lastFailure = i;
  });
  if (lastFailure === -1) return fromMs;
  return samples[lastFailure + 1]?.offsetMs;
}

/** The pod fields these drills read, beyond kube.ts's Pod. */
export type PodDetail = Pod & {
  metadata: Pod['metadata'] & { uid?: string };
  spec: Pod['spec'] & {
    tolerations?: { key?: string; operator?: string; effect?: string; tolerationSeconds?: number }[];
  };
  status: Pod['status'] & { podIP?: string };
};

export interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string; value?: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

export function nodeReadyStatus(node: KubeNode | undefined): string {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}

/**
 * Nodes that can take the lab's pods: Ready, not cordoned, not the control
 * plane, no NoSchedule/NoExecute taint. With `among`, only those (the node
 * containers labgrader may act on).
 */
export function workerNodes(nodes: readonly KubeNode[], among?: readonly string[]): KubeNode[] {
  return nodes
    .filter((n) => !(CONTROL_PLANE_LABEL in (n.metadata.labels ?? {})))
    .filter((n) => !n.spec?.unschedulable)
    .filter((n) => !(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'))
    .filter((n) => nodeReadyStatus(n) === 'True')
    .filter((n) => !among || among.includes(n.metadata.name))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

export function isTerminatingPod(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/** How many of these pods each node runs. */
export function spreadOf(pods: readonly Pod[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pods) {
    if (!p.spec.nodeName) continue;
    out[p.spec.nodeName] = (out[p.spec.nodeName] ?? 0) + 1;
  }
  return out;
}

/** The node running the most of these pods (ties: the first by name), among `candidates`. */
export function busiestNode(pods: readonly Pod[], candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let most = 0;
  for (const node of [...candidates].sort()) {
    const n = pods.filter((p) => p.spec.nodeName === node && !isTerminatingPod(p)).length;
    if (n > most) {
      most = n;
      best = node;
    }
  }
  return best;
}

/** Why a node drill cannot run on this target (not applicable), if so. */
export function nodeDrillUnsupported(target: DrillTarget, what: 'stop' | 'drain'): string | undefined {
  if (!target.ownsNodes) {
    return `this is an existing cluster that labgrader does not own: it never ${what === 'stop' ? 'stops' : 'drains'} someone else's nodes`;
  }
  if (target.schedulableNodes < 2) {
    return `the cluster has ${target.schedulableNodes} node for the lab's pods, so ${what === 'stop' ? 'stopping' : 'draining'} it leaves them nowhere to go (grade it in a kind cluster with target: { type: kind, workers: 2 })`;
  }
  if (target.workload.kind === 'DaemonSet') {
    return `${target.workload.subject} is a DaemonSet: it runs one pod per node, and no other node takes over a ${what === 'stop' ? 'lost' : 'drained'} node's pod`;
  }
  return undefined;
}
