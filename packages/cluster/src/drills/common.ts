/**
 * What every drill shares: how to list the workload's pods, read the
 * workload, collect the events of the drill, and the shape of a result.
 */
import type { Clock } from '@labgrader/core';
import type { CommandRecord, Tool, Transcript } from '../commands.js';
import type { ClusterConfig } from '../config.js';
import {
  describeEvent,
  eventTime,
  isPodReady,
  isTerminating,
  workloadReady,
  type ClusterWorkload,
  type KubeEvent,
  type List,
  type Pod,
} from '../kube.js';
import type { PlannedWorkload } from '../plan.js';
import type { ProbeSummary, RunningProbe, ServiceProber } from '../probe.js';
import { summarizeProbe } from '../probe.js';
import type { Redactor } from '../secrets.js';

import type { NodeAccess } from '../target.js';
import type { TimelineEntry } from './observe.js';

export interface DrillContext {
  config: ClusterConfig;
  /** The nodes the lab runs on (kind: the node containers; existing: the cluster's nodes). */
  nodes: readonly string[];
  kubectl: Tool;
  workload: PlannedWorkload;
  prober?: ServiceProber;
  nodeAccess?: NodeAccess;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  transcript: Transcript;
  redactor: Redactor;
  progress: (message: string) => void;
}

export interface DrillResult {
  /** The drill's id (`pod-kill`…). */
  scenario: string;
  /**
   * completed: the drill ran (whatever the outcome); not-run: it could not
   * start because of the lab (e.g. no Ready pod to delete): no credit;
   * unsupported: this target cannot run it (no node access): not applicable.
   */
  status: 'completed' | 'not-run' | 'unsupported';
  reason?: string;
  /** Seconds until recovered; undefined when it did not recover in time. */
  recoverySeconds?: number;
  timeoutSeconds: number;
  /** Commands the drill ran (polling summarized). */
  commands: CommandRecord[];
  /** Events during the drill, one line each. */
  events: string[];
  /** What the Service answered during the drill. */
  probe?: ProbeSummary;
  /** One line describing what was done and seen, for evidence. */
  narrative: string;
  /**
   * Containers the drill restarted itself, one entry per restart (a killed
   * container, a restarted node's pods): the stage's watch of the steady
   * state does not count these restarts as the lab's.
   */
  restartedContainers?: { pod: string; container: string }[];
  /** What was seen, with offsets from the moment the fault was injected (the drills of drills/observe.ts). */
  timeline?: TimelineEntry[];
}

export function notRun(
  scenario: string,
  status: 'not-run' | 'unsupported',
  reason: string,
  timeoutSeconds: number,
): DrillResult {
  return { scenario, status, reason, timeoutSeconds, commands: [], events: [], narrative: reason };
}

/**
 * The result of a drill that ran, whatever its outcome: the recovery time (or
 * none when it did not recover in time), the evidence, and a narrative that
 * ends with what the Service answered meanwhile.
 */
export function completedDrill(drill: {
  scenario: string;
  recoveredMs: number | undefined;
  timeoutSeconds: number;
  commands: CommandRecord[];
  events: string[];
  probe: ProbeSummary | undefined;
  /** What was done and seen, given the recovery time in seconds (undefined: not recovered in time). */
  narrate: (recoverySeconds: number | undefined) => string;
}): DrillResult {
  const recoverySeconds = drill.recoveredMs === undefined ? undefined : seconds(drill.recoveredMs);
  return {
    scenario: drill.scenario,
    status: 'completed',
    ...(recoverySeconds !== undefined ? { recoverySeconds } : {}),
    timeoutSeconds: drill.timeoutSeconds,
    commands: drill.commands,
    events: drill.events,
    ...(drill.probe ? { probe: drill.probe } : {}),
    narrative: drill.narrate(recoverySeconds) + describeProbe(drill.probe),
  };
}

export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

export async function listPods(ctx: DrillContext, record = false): Promise<Pod[]> {
  const list = await ctx.kubectl.json<List<Pod>>(
    ['-n', ctx.workload.namespace, 'get', 'pods', '-l', ctx.workload.selectorArg],
    { unrecorded: !record },
  );
  return list.items;
}

export async function getWorkload(ctx: DrillContext, record = false): Promise<ClusterWorkload> {
  const w = ctx.workload;
  const kind = `${w.kind.toLowerCase()}s.apps`;
  return ctx.kubectl.json<ClusterWorkload>(['-n', w.namespace, 'get', `${kind}/${w.name}`], { unrecorded: !record });
}

export function byName(a: Pod, b: Pod): number {
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export { isPodReady };

/**
 * Whether the workload is fully rolled out and Ready and, unless
 * `terminating` allows them, has no pod Terminating (one look: the workload
 * and its pods at once).
 */
export async function isSteady(ctx: DrillContext, terminating: 'allowed' | 'gone' = 'gone'): Promise<boolean> {
  const [workload, pods] = await Promise.all([getWorkload(ctx), listPods(ctx)]);
  return workloadReady(workload) && (terminating === 'allowed' || !pods.some(isTerminating));
}

/** Waits (bounded) until the workload is fully rolled out and Ready again before the next drill. */
export async function waitSteady(
  ctx: DrillContext,
  timeoutMs: number,
  terminating: 'allowed' | 'gone' = 'gone',
): Promise<boolean> {
  const started = ctx.clock.monotonicMs();
  for (;;) {
    if (await isSteady(ctx, terminating)) return true;
    if (ctx.clock.monotonicMs() - started >= timeoutMs) return false;
    await ctx.sleep(ctx.config.pollIntervalMs);
  }
}

/** Events about the workload, its ReplicaSets and the named pods since the drill began. */
export async function drillEvents(
  ctx: DrillContext,
  podNames: ReadonlySet<string>,
  sinceWallMs: number,
): Promise<string[]> {
  const list = await ctx.kubectl.json<List<KubeEvent>>(['-n', ctx.workload.namespace, 'get', 'events'], {
    unrecorded: true,
  });
  const w = ctx.workload;
  return list.items
    .filter((e) => eventTime(e) >= sinceWallMs - 1000)
    .filter((e) => {
      const { kind, name } = e.involvedObject;
      if (!name) return false;
      if (kind === 'Pod') return podNames.has(name) || name.startsWith(`${w.name}-`);
      if (kind === w.kind) return name === w.name;
      return kind === 'ReplicaSet' && name.startsWith(`${w.name}-`);
    })
    .sort((a, b) => eventTime(a) - eventTime(b))
    .slice(-12)
    .map((e) => ctx.redactor.redact(describeEvent(e)));
}

/** Stops the probe (if any) and summarizes what it saw. */
export async function stopProbe(
  ctx: DrillContext,
  running: RunningProbe | undefined,
): Promise<ProbeSummary | undefined> {
  if (!running || !ctx.prober) return undefined;
  const samples = await running.stop();
  return summarizeProbe(ctx.prober.via, samples);
}

export function describeProbe(probe: ProbeSummary | undefined): string {
  if (!probe) return '';
  const pct = Math.round(probe.ratio * 1000) / 10;
  return `; the Service answered ${probe.ok}/${probe.total} requests (${pct}%)${probe.ok < probe.total ? `, longest outage ${seconds(probe.longestOutageMs)} s, first failure: ${probe.firstFailure}` : ''}`;
}
