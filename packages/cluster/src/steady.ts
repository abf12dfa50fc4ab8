/**
 * The steady state. "Ready" is a moment: a liveness probe on a path that
 * answers 404 passes readiness and is killed half a minute later, again and
 * again. So once every workload is Ready the stage keeps watching them,
 * through the drills and at least as long as the slowest liveness probe
 * needs to act (initialDelaySeconds + periodSeconds × failureThreshold +
 * timeoutSeconds, plus a margin), and counts, for every Ready workload,
 * what no drill did: container restarts (its liveness probe killing it, a
 * crash, an OOM kill) and the probe failures behind them. Each cause is one
 * diagnosis on the line to fix.
 */
import type { Clock } from '@labgrader/core';
import type { Container } from '@labgrader/manifest-lint';
import type { Tool } from './commands.js';
import { podsOf, type Diagnosis } from './diagnose.js';
import { eventContainer, eventTime, type KubeEvent, type List, type Pod } from './kube.js';
import type { PlannedWorkload } from './plan.js';
import type { Redactor } from './secrets.js';

export interface SteadyStateSettings {
  /** Added to the slowest liveness probe's time to act. */
  marginSeconds: number;
  /** Never watch longer than this after Ready (a liveness probe with a very long period). */
  maxSeconds: number;
}

export interface SteadyWindow {
  /** How long after Ready the workloads are watched, at least (the drills may take longer). */
  seconds: number;
  /** Why that long, for evidence. */
  because: string;
}

/** A container one of the drills restarted itself (its next restart is the drill's, not the lab's). */
export interface DrillRestart {
  pod: string;
  container: string;
}

export interface Instability {
  workload: PlannedWorkload;
  /** Restarts of its containers since Ready that no drill caused (at least 1). */
  restarts: number;
  /** One per cause (a container's liveness probe, its OOM kills, its crashes). */
  diagnoses: Diagnosis[];
}

const PROBE_KILL = /^Container (\S+) failed (liveness|startup) probe/i;

function seconds(value: unknown, fallback: number, min = 0): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
}

/** How long a liveness probe needs, at most, to get a container restarted (Kubernetes' defaults for what is unset). */
export function livenessSeconds(probe: unknown): { total: number; text: string } | undefined {
  if (!probe || typeof probe !== 'object') return undefined;
  const p = probe as Record<string, unknown>;
  const initial = seconds(p.initialDelaySeconds, 0);
  const period = seconds(p.periodSeconds, 10, 1);
  const failures = seconds(p.failureThreshold, 3, 1);
  const timeout = seconds(p.timeoutSeconds, 1, 1);
  return {
    total: initial + period * failures + timeout,
    text: `initialDelaySeconds ${initial} + periodSeconds ${period} × failureThreshold ${failures} + timeoutSeconds ${timeout}`,
  };
}

/** The watch: the slowest liveness probe of the workloads, plus the margin, within the maximum. */
export function steadyWindow(workloads: readonly PlannedWorkload[], settings: SteadyStateSettings): SteadyWindow {
  let slowest: { total: number; because: string } | undefined;
  for (const w of workloads) {
    for (const c of w.workload.containers) {
      const probe = livenessSeconds(c.value.livenessProbe);
      if (probe && (!slowest || probe.total > slowest.total)) {
        slowest = {
          total: probe.total,
          because: `the liveness probe of container "${c.name}" of ${w.subject} restarts it within ${probe.text} = ${probe.total} s`,
        };
      }
    }
  }
  const wanted = (slowest?.total ?? 0) + settings.marginSeconds;
  const capped = Math.min(wanted, settings.maxSeconds);
  return {
    seconds: capped,
    because: `${slowest?.because ?? 'no container has a liveness probe'}, plus ${settings.marginSeconds} s${capped < wanted ? `, capped at steadyState.maxSeconds ${settings.maxSeconds} s` : ''}`,
  };
}

function containerOf(workload: PlannedWorkload, name: string): Container | undefined {
  return workload.workload.containers.find((c) => c.name === name);
}

export interface SteadyDeps {
  kubectl: Tool;
  clock: Clock;
  redactor: Redactor;
}

/**
 * Watches the Ready workloads from `start()` on: `check()` compares their
 * pods' restart counts with the counts at the start, minus the restarts the
 * drills caused, and reads the kubelet's events since then.
 */
export class SteadyWatch {
  private startedMs = 0;
  private startedWallMs = 0;
  private readonly before = new Map<string, number>();

  constructor(
    private readonly deps: SteadyDeps,
    readonly workloads: readonly PlannedWorkload[],
    readonly window: SteadyWindow,
  ) {}

  private get namespaces(): string[] {
    return [...new Set(this.workloads.map((w) => w.namespace))];
  }

  private async read(): Promise<{ pods: Pod[]; events: KubeEvent[] }> {
    const pods: Pod[] = [];
    const events: KubeEvent[] = [];
    for (const ns of this.namespaces) {
      pods.push(...(await this.deps.kubectl.json<List<Pod>>(['-n', ns, 'get', 'pods'], { unrecorded: true })).items);
      events.push(
        ...(await this.deps.kubectl.json<List<KubeEvent>>(['-n', ns, 'get', 'events'], { unrecorded: true })).items,
      );
    }
    return { pods, events };
  }

  /** Records the restart counts at Ready. */
  async start(): Promise<void> {
    this.startedMs = this.deps.clock.monotonicMs();
    this.startedWallMs = this.deps.clock.now().getTime();
    const { pods } = await this.read();
    for (const pod of pods)
      for (const s of pod.status.containerStatuses ?? [])
        this.before.set(`${pod.metadata.name}/${s.name}`, s.restartCount);
  }

  /** Seconds watched so far. */
  watchedSeconds(): number {
    return Math.round((this.deps.clock.monotonicMs() - this.startedMs) / 100) / 10;
  }

  /** Milliseconds until the window is over (0 once it is). */
  remainingMs(): number {
    return Math.max(0, this.startedMs + this.window.seconds * 1000 - this.deps.clock.monotonicMs());
  }

  /**
   * What went wrong since Ready, per workload (only the workloads with at
   * least one restart no drill caused). `logs` fetches a container's last
   * output when given (the final check).
   */
  async check(
    drillRestarts: readonly DrillRestart[],
    logs?: (pod: string, namespace: string, container: string) => Promise<string | undefined>,
  ): Promise<Instability[]> {
    const { pods: allPods, events: allEvents } = await this.read();
    const since = this.startedWallMs - 1000;
    const out: Instability[] = [];
    for (const w of this.workloads) {
      const pods = podsOf(w, allPods);
      const names = new Set(pods.map((p) => p.metadata.name));
      const perContainer = new Map<
        string,
        {
          restarts: number;
          kills: number;
          kind?: string;
          probe?: string;
          last?: { reason?: string; exitCode?: number };
          pod?: string;
        }
      >();
      const entry = (name: string) => {
        let e = perContainer.get(name);
        if (!e) perContainer.set(name, (e = { restarts: 0, kills: 0 }));
        return e;
      };
      for (const pod of pods) {
        for (const s of pod.status.containerStatuses ?? []) {
          const key = `${pod.metadata.name}/${s.name}`;
          const byDrills = drillRestarts.filter((d) => d.pod === pod.metadata.name && d.container === s.name).length;
          const delta = s.restartCount - (this.before.get(key) ?? 0) - byDrills;
          if (delta <= 0) continue;
          const e = entry(s.name);
          e.restarts += delta;
          e.pod = pod.metadata.name;
          if (s.lastState?.terminated) e.last = s.lastState.terminated;
        }
      }
      // The kubelet's events about these pods since Ready, oldest first.
      const events = allEvents
        .filter(
          (e) => e.involvedObject.kind === 'Pod' && names.has(e.involvedObject.name ?? '') && eventTime(e) >= since,
        )
        .sort((a, b) => eventTime(a) - eventTime(b));
      for (const e of events) {
        const kill = e.reason === 'Killing' ? PROBE_KILL.exec(e.message ?? '') : null;
        if (kill) {
          const c = entry(kill[1]!);
          c.kills += 1;
          c.kind = kill[2]!.toLowerCase();
          c.pod ??= e.involvedObject.name;
        }
        const failed =
          e.reason === 'Unhealthy' ? /^(Liveness|Startup) probe failed:\s*(.*)$/is.exec(e.message ?? '') : null;
        if (failed) {
          const name = eventContainer(e) ?? w.workload.containers.find((c) => c.value.livenessProbe)?.name;
          if (name) entry(name).probe = failed[2]!.replace(/\s+/g, ' ').trim();
        }
      }
      const diagnoses: Diagnosis[] = [];
      let restarts = 0;
      for (const [name, e] of perContainer) {
        const count = Math.max(e.restarts, e.kills);
        if (count === 0) continue;
        restarts += count;
        const container = containerOf(w, name);
        const base = container?.path ?? w.workload.podSpecPath;
        const what = `container "${name}" of ${w.subject}`;
        const times = `${count} time${count === 1 ? '' : 's'}`;
        const watched = `in the ${Math.round(this.watchedSeconds())} s after its pods were Ready`;
        if (e.kills > 0) {
          const field = `${e.kind ?? 'liveness'}Probe`;
          diagnoses.push({
            reason: `${field[0]!.toUpperCase()}${field.slice(1, -5)}ProbeFailed`,
            container: name,
            message: this.deps.redactor.redact(
              `The ${e.kind ?? 'liveness'} probe of ${what} fails${e.probe ? ` (${e.probe.replace(/\.$/, '')})` : ''}, so the kubelet restarted the container ${times} ${watched}.`,
            ),
            location: w.source.locate(container?.value[field] !== undefined ? [...base, field] : base, 'key'),
          });
        } else if (e.last?.reason === 'OOMKilled') {
          const hasLimit =
            (container?.value.resources as { limits?: { memory?: unknown } } | undefined)?.limits?.memory !== undefined;
          diagnoses.push({
            reason: 'OOMKilled',
            container: name,
            message: `${what} was killed ${times} for using more memory than its limit (OOMKilled) ${watched}.`,
            location: w.source.locate(
              hasLimit ? [...base, 'resources', 'limits', 'memory'] : base,
              hasLimit ? 'value' : 'key',
            ),
          });
        } else {
          const output = logs && e.pod ? await logs(e.pod, w.namespace, name) : undefined;
          const exit = e.last
            ? ` (last exit: ${e.last.reason ?? 'terminated'}${e.last.exitCode !== undefined ? `, exit code ${e.last.exitCode}` : ''})`
            : '';
          diagnoses.push({
            reason: 'RestartedAfterReady',
            container: name,
            message: this.deps.redactor.redact(
              `${what} exited ${times} ${watched}${exit}${output ? `; its last output: ${output.replace(/\s+/g, ' ').slice(0, 400)}` : ''}.`,
            ),
            location: w.source.locate(base, 'key'),
          });
        }
      }
      if (restarts > 0) out.push({ workload: w, restarts, diagnoses });
    }
    return out;
  }
}
