/**
 * The steady state. "Ready" is a moment: a liveness probe on a path that
 * answers 404 passes readiness and is killed half a minute later, again and
 * again. So once every workload is Ready the stage keeps watching them,
 * through the drills, until their liveness probes have acted, and counts,
 * for every Ready workload, what no drill did: container restarts (its
 * liveness probe killing it, a crash, an OOM kill) and the probe failures
 * behind them. Each cause is one diagnosis on the line to fix.
 *
 * How long is "until the probes have acted" (`steadyState.until`):
 *  - `liveness-answered` (the default): until the kubelet has run every
 *    liveness probe and it succeeded, read from the kubelet's own probe
 *    counters (prober_probe_total, /metrics/probes through the API server);
 *    where those cannot be read (an existing cluster without nodes/proxy),
 *    until every probe has had the time to run once after its initial delay
 *    (initialDelaySeconds + periodSeconds + timeoutSeconds, plus the margin).
 *    The moment a liveness probe fails (a counter, or the kubelet's
 *    Unhealthy event), the watch lasts the whole restart window below, so
 *    that the restart it leads to is seen and graded.
 *  - `restart-window`: always the whole restart window, initialDelaySeconds
 *    + periodSeconds × failureThreshold + timeoutSeconds of the slowest
 *    liveness probe, plus the margin (a probe that fails only now and then).
 */
import type { Clock } from '@labgrader/core';
import type { Container } from '@labgrader/manifest-lint';
import type { Tool } from './commands.js';
import { podsOf, type Diagnosis } from './diagnose.js';
import { eventContainer, eventTime, type KubeEvent, type List, type Pod } from './kube.js';
import type { PlannedWorkload } from './plan.js';
import type { Redactor } from './secrets.js';

export type SteadyUntil = 'liveness-answered' | 'restart-window';

export interface SteadyStateSettings {
  /** Added to the slowest liveness probe's time to act. */
  marginSeconds: number;
  /** Never watch longer than this after Ready (a liveness probe with a very long period). */
  maxSeconds: number;
  /** See the module's comment; absent: `liveness-answered`. */
  until?: SteadyUntil;
}

export interface SteadyWindow {
  /**
   * The restart window: how long after Ready the workloads are watched when
   * a liveness probe failed, or always with `until: restart-window`.
   */
  seconds: number;
  /** Why that long, for evidence. */
  because: string;
  until: SteadyUntil;
  /**
   * With `liveness-answered`, when the kubelet's counters cannot be read:
   * the time every liveness probe needs to run once after its initial delay,
   * plus the margin, within the restart window.
   */
  firstResult: { seconds: number; because: string };
  /** The containers whose liveness probe must have answered (workload subject, container name). */
  probed: { workload: PlannedWorkload; container: string }[];
}

/** One prober_probe_total series of the kubelet: a container's liveness results so far. */
export interface LivenessCount {
  namespace: string;
  pod: string;
  container: string;
  successful: number;
  failed: number;
}

/**
 * The kubelet's liveness counters of the pods on these nodes (its
 * /metrics/probes), or undefined when they cannot be read (no permission on
 * nodes/proxy, a kubelet without the endpoint).
 */
export type LivenessCounters = (nodes: readonly string[]) => Promise<LivenessCount[] | undefined>;

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

/**
 * How long a liveness probe needs, at most, to get a container restarted
 * (`total`), and to run a first time after its initial delay (`first`),
 * with Kubernetes' defaults for what is unset.
 */
export function livenessSeconds(
  probe: unknown,
): { total: number; text: string; first: number; firstText: string } | undefined {
  if (!probe || typeof probe !== 'object') return undefined;
  const p = probe as Record<string, unknown>;
  const initial = seconds(p.initialDelaySeconds, 0);
  const period = seconds(p.periodSeconds, 10, 1);
  const failures = seconds(p.failureThreshold, 3, 1);
  const timeout = seconds(p.timeoutSeconds, 1, 1);
  return {
    total: initial + period * failures + timeout,
    text: `initialDelaySeconds ${initial} + periodSeconds ${period} × failureThreshold ${failures} + timeoutSeconds ${timeout}`,
    first: initial + period + timeout,
    firstText: `initialDelaySeconds ${initial} + periodSeconds ${period} + timeoutSeconds ${timeout}`,
  };
}

/** The watch: the slowest liveness probe of the workloads, plus the margin, within the maximum. */
export function steadyWindow(workloads: readonly PlannedWorkload[], settings: SteadyStateSettings): SteadyWindow {
  let slowest: { total: number; because: string } | undefined;
  let slowestFirst: { first: number; because: string } | undefined;
  const probed: SteadyWindow['probed'] = [];
  for (const w of workloads) {
    for (const c of w.workload.containers) {
      const probe = livenessSeconds(c.value.livenessProbe);
      if (!probe) continue;
      probed.push({ workload: w, container: c.name });
      if (!slowest || probe.total > slowest.total) {
        slowest = {
          total: probe.total,
          because: `the liveness probe of container "${c.name}" of ${w.subject} restarts it within ${probe.text} = ${probe.total} s`,
        };
      }
      if (!slowestFirst || probe.first > slowestFirst.first) {
        slowestFirst = {
          first: probe.first,
          because: `the liveness probe of container "${c.name}" of ${w.subject} runs a first time within ${probe.firstText} = ${probe.first} s`,
        };
      }
    }
  }
  const margin = settings.marginSeconds;
  const wanted = (slowest?.total ?? 0) + margin;
  const capped = Math.min(wanted, settings.maxSeconds);
  const cap = (n: number) => (n < wanted ? `, capped at steadyState.maxSeconds ${settings.maxSeconds} s` : '');
  const firstWanted = (slowestFirst?.first ?? 0) + margin;
  const first = Math.min(firstWanted, capped);
  return {
    seconds: capped,
    because: `${slowest?.because ?? 'no container has a liveness probe'}, plus ${margin} s${cap(capped)}`,
    until: settings.until ?? 'liveness-answered',
    firstResult: {
      seconds: first,
      because: `${slowestFirst?.because ?? 'no container has a liveness probe'}, plus ${margin} s${first < firstWanted ? `, capped at ${capped} s` : ''}`,
    },
    probed,
  };
}

const PROBE_SERIES = /^prober_probe_total\{([^}]*)\}\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/**
 * The liveness series of a kubelet's /metrics/probes (Prometheus text
 * format), one entry per container with its successful and failed counts.
 */
export function parseLivenessCounters(text: string): LivenessCount[] {
  const byContainer = new Map<string, LivenessCount>();
  for (const line of text.split('\n')) {
    const m = PROBE_SERIES.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[1]!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    if (labels.probe_type !== 'Liveness' || !labels.pod || !labels.container) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    const key = `${labels.namespace ?? ''}/${labels.pod}/${labels.container}`;
    let entry = byContainer.get(key);
    if (!entry) {
      entry = {
        namespace: labels.namespace ?? '',
        pod: labels.pod,
        container: labels.container,
        successful: 0,
        failed: 0,
      };
      byContainer.set(key, entry);
    }
    if (labels.result === 'successful') entry.successful += value;
    else if (labels.result === 'failed') entry.failed += value;
  }
  return [...byContainer.values()];
}

/** The counters through the API server's node proxy (kubectl get --raw), undefined once that is refused. */
export function kubeletLivenessCounters(kubectl: Tool): LivenessCounters {
  let refused = false;
  return async (nodes) => {
    if (refused || nodes.length === 0) return undefined;
    const out: LivenessCount[] = [];
    for (const node of nodes) {
      const r = await kubectl.run(['get', '--raw', `/api/v1/nodes/${encodeURIComponent(node)}/proxy/metrics/probes`], {
        unrecorded: true,
      });
      if (r.exitCode !== 0) {
        // Refused (RBAC) or absent: not worth asking again; anything else may pass next time.
        if (/forbidden|not ?found|could not find/i.test(r.stderr)) refused = true;
        return undefined;
      }
      out.push(...parseLivenessCounters(r.stdout));
    }
    return out;
  };
}

function containerOf(workload: PlannedWorkload, name: string): Container | undefined {
  return workload.workload.containers.find((c) => c.name === name);
}

export interface SteadyDeps {
  kubectl: Tool;
  clock: Clock;
  redactor: Redactor;
  /** The kubelet's liveness counters (absent: the watch goes by time alone). */
  livenessCounters?: LivenessCounters;
}

/** What the watch has seen of the liveness probes so far. */
export interface LivenessProgress {
  /** A liveness (or startup) probe failed since Ready: the restart window applies. */
  failed?: string;
  /** Every probed container answered its liveness probe (from the kubelet's counters). */
  answered?: string;
  /** The kubelet's counters were read at least once. */
  countersRead: boolean;
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
  /** Failed liveness results per pod/container at Ready (failures while starting are not the steady state's). */
  private readonly failedBefore = new Map<string, number>();
  private liveness: LivenessProgress = { countersRead: false };
  /** The nodes of the watched pods at the last read (whose kubelets are asked for their counters). */
  private nodes: string[] = [];

  constructor(
    private readonly deps: SteadyDeps,
    readonly workloads: readonly PlannedWorkload[],
    readonly window: SteadyWindow,
  ) {}

  private get namespaces(): string[] {
    return [...new Set(this.workloads.map((w) => w.namespace))];
  }

  /** The pods and events of the watched namespaces (all asked at once: this runs before every drill). */
  private async read(): Promise<{ pods: Pod[]; events: KubeEvent[] }> {
    const lists = await Promise.all(
      this.namespaces.map((ns) =>
        Promise.all([
          this.deps.kubectl.json<List<Pod>>(['-n', ns, 'get', 'pods'], { unrecorded: true }),
          this.deps.kubectl.json<List<KubeEvent>>(['-n', ns, 'get', 'events'], { unrecorded: true }),
        ]),
      ),
    );
    const pods = lists.flatMap(([p]) => p.items);
    const events = lists.flatMap(([, e]) => e.items);
    this.nodes = [...new Set(pods.map((p) => p.spec.nodeName).filter((n): n is string => !!n))].sort();
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
    for (const c of (await this.counters()) ?? []) this.failedBefore.set(`${c.pod}/${c.container}`, c.failed);
  }

  /** The kubelets' liveness counters, while they are still needed. */
  private async counters(): Promise<LivenessCount[] | undefined> {
    if (this.window.until !== 'liveness-answered' || !this.deps.livenessCounters || this.window.probed.length === 0)
      return undefined;
    if (this.liveness.failed || this.liveness.answered) return undefined;
    const counts = await this.deps.livenessCounters(this.nodes);
    if (counts) this.liveness.countersRead = true;
    return counts;
  }

  /** Seconds watched so far. */
  watchedSeconds(): number {
    return Math.round((this.deps.clock.monotonicMs() - this.startedMs) / 100) / 10;
  }

  /**
   * Milliseconds the watch still needs, as of the last check() (0 once it
   * has seen enough): the restart window when a liveness probe failed or
   * with `until: restart-window`; otherwise none once every liveness probe
   * answered, or, while the kubelet's counters cannot be read, the time each
   * needs to run once; counters that show no answer by then: the restart
   * window.
   */
  remainingMs(): number {
    const now = this.deps.clock.monotonicMs();
    const full = Math.max(0, this.startedMs + this.window.seconds * 1000 - now);
    if (this.window.until === 'restart-window' || this.liveness.failed) return full;
    if (this.liveness.answered) return 0;
    // No liveness probe: the margin, for a container that exits by itself soon after Ready.
    const first = this.startedMs + this.window.firstResult.seconds * 1000 - now;
    if (first > 0) return first;
    return this.liveness.countersRead && this.window.probed.length > 0 ? full : 0;
  }

  /** Why the watch lasted as long as it did, for evidence. */
  describeWindow(): string {
    if (this.window.until === 'restart-window') return `at least ${this.window.seconds} s: ${this.window.because}`;
    if (this.liveness.failed)
      return `${this.liveness.failed}, so at least the restart window, ${this.window.seconds} s: ${this.window.because}`;
    if (this.window.probed.length === 0)
      return `no container has a liveness probe, so at least the margin, ${this.window.firstResult.seconds} s`;
    if (this.liveness.answered) return this.liveness.answered;
    if (this.liveness.countersRead)
      return `the kubelet reported no answer of a liveness probe in ${this.window.firstResult.seconds} s, so at least the restart window, ${this.window.seconds} s: ${this.window.because}`;
    return `the kubelet's probe counters could not be read, so at least the time each liveness probe needs to run once, ${this.window.firstResult.seconds} s: ${this.window.firstResult.because}`;
  }

  /** The liveness counters against the probed containers: failures since Ready, and whether each answered. */
  private judgeCounters(counts: readonly LivenessCount[], pods: readonly Pod[]): void {
    // Each series with the probed container it belongs to (same pod of a watched workload, same container).
    const mine = counts.flatMap((c) => {
      const pod = pods.find(
        (p) => p.metadata.name === c.pod && (!c.namespace || (p.metadata.namespace ?? c.namespace) === c.namespace),
      );
      const probed =
        pod && this.window.probed.find((p) => p.container === c.container && podsOf(p.workload, [pod]).length);
      return probed ? [{ count: c, probed }] : [];
    });
    for (const { count: c, probed } of mine) {
      const failedSince = c.failed - (this.failedBefore.get(`${c.pod}/${c.container}`) ?? 0);
      if (failedSince > 0 && !this.liveness.failed)
        this.liveness.failed = `the liveness probe of container "${c.container}" of ${probed.workload.subject} failed ${failedSince} time${failedSince === 1 ? '' : 's'} (kubelet's counter)`;
    }
    const answered = (p: SteadyWindow['probed'][number]) =>
      mine.some(({ count, probed }) => probed === p && count.successful > 0);
    if (!this.liveness.answered && this.window.probed.every(answered)) {
      const total = mine.reduce((n, { count }) => n + count.successful, 0);
      this.liveness.answered = `every liveness probe answered (the kubelet counted ${total} successful liveness result${total === 1 ? '' : 's'} of ${this.window.probed.map((p) => `container "${p.container}" of ${p.workload.subject}`).join(', ')}, none failed)`;
    }
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
    // The counters go to the nodes of the last read, asked at the same time as the pods.
    const [{ pods: allPods, events: allEvents }, counts] = await Promise.all([this.read(), this.counters()]);
    const since = this.startedWallMs - 1000;
    if (counts && !this.liveness.failed && !this.liveness.answered) this.judgeCounters(counts, allPods);
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
          if (failed[1]!.toLowerCase() === 'liveness')
            this.liveness.failed ??= `the kubelet reported: Liveness probe failed for ${name ? `container "${name}" of ` : ''}${w.subject}`;
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
