/**
 * Warm clusters: creating a kind cluster is the biggest single cost of a
 * grading (about 27 s of a minute here), so a worker keeps a few ready and
 * grades each submission in namespaces of its own in one of them, the way a
 * shared cluster is graded (namespaced kinds only, quotas, default-deny
 * egress, Pod Security, the lab applied as the least-privileged applier).
 *
 * The pool keeps `size` clusters per shape (node image, workers, CNI…). A job
 * takes a ready one, or waits for one that is being cleaned or created when
 * there are as many of those as waiting jobs, or else creates a fresh cluster
 * of its own (the plain kind mode) while the pool refills. When the job ends,
 * its pods are stopped and proven gone before the cluster grades again, and
 * its namespaces go in the background (checked before the cluster is given
 * out again); it is deleted instead (and replaced) after
 * `maxJobsPerCluster` jobs, when its pods do not stop or its namespaces do
 * not go within NAMESPACE_GONE_WITHIN_MS, when it fails its
 * health check, or when the job could have changed what outlives its
 * namespaces (a node drill drained or stopped a node, an image built from the
 * repository was loaded, the job was stopped half-way).
 *
 * Every cluster of the pool holds a slot of the per-host cap (slots.ts) for
 * as long as it exists: a worker that dies stops renewing them, and the
 * worker's cluster janitor deletes what it left.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock, type CommandRunner, type Logger } from '@labgrader/core';
import { Tool, Transcript, displayName, firstLine } from './commands.js';
import type { ClusterConfig, KindTarget } from './config.js';
import { installClusterPolicy, installNodeGuard } from './isolation/enforce.js';
import type { NodeList } from './isolation/node-guard.js';
import {
  checkKindPrerequisites,
  createKindCluster,
  deleteKindCluster,
  kindNodeNames,
  loadKindImages,
  type KindTools,
  type LoadedImages,
} from './kind-cluster.js';
import type { ClusterSlot, ClusterSlots } from './slots.js';
import { JOB_LABEL } from './plan.js';
import {
  stopJobNamespaces,
  type NodeAccess,
  type SessionDeps,
  type TargetSession,
  type TeardownReport,
} from './target.js';

export type KindConfig = ClusterConfig & { target: KindTarget };

/** An earlier job's namespace still there this long after its hand-back retires the cluster (a stuck finalizer). */
export const NAMESPACE_GONE_WITHIN_MS = 120_000;

export interface WarmClusterRequest {
  signal: AbortSignal;
  progress: (message: string) => void;
}

/** What a job is told about the warm cluster it grades in, and how it gives it back. */
export interface WarmLease {
  readonly name: string;
  readonly kubeconfig: string;
  readonly nodes: readonly string[];
  readonly workers: number;
  /** Jobs graded in it before this one. */
  readonly served: number;
  readonly maxJobs: number;
  readonly egressGuard?: { podCidrs: string[]; nodes: string[] };
  /** The images earlier jobs loaded into it (loadKindImages reuses them when they are unchanged). */
  readonly loadedImages: LoadedImages;
  /**
   * Gives the cluster back: its job's namespaces are deleted in the background
   * and the cluster grades again once they are gone, unless `dirty` says why
   * it must not (then it is deleted and replaced). Returns at once.
   */
  release(outcome: { job: string; namespaces: readonly string[]; dirty: readonly string[]; keep: boolean }): string;
}

export interface ClusterPool {
  /** A warm cluster of the job's shape, or undefined: the job creates a cluster of its own. */
  take(config: KindConfig, request: WarmClusterRequest): Promise<WarmLease | undefined>;
  /** Starts filling the pool for this shape (a worker's default rubric, at start-up). */
  prewarm(config: KindConfig): void;
  /** Resolves when no cluster is being created, cleaned or deleted. */
  idle(): Promise<void>;
  /**
   * The per-host cap for jobs that create a cluster of their own (none ready for them): while one waits for a
   * slot, an idle warm cluster gives its slot up. Undefined without a cap.
   */
  slots(): ClusterSlots | undefined;
  /** Deletes every cluster of the pool (jobs still running keep theirs until they give it back). */
  close(): Promise<void>;
  stats(): PoolStats;
}

export interface PoolStats {
  ready: number;
  busy: number;
  pending: number;
  hits: number;
  misses: number;
  created: number;
  recycled: number;
}

export type PoolEvent =
  | { type: 'hit' | 'miss'; shape: string }
  | { type: 'created'; cluster: string; seconds: number }
  | { type: 'create-failed'; error: string }
  | { type: 'recycled'; cluster: string; reason: string }
  | { type: 'reused'; cluster: string; served: number };

export interface KindClusterPoolOptions {
  /** Clusters kept per shape, busy ones included (a worker's cluster concurrency). */
  size: number;
  /** A cluster is deleted and replaced after this many jobs. */
  maxJobsPerCluster: number;
  runner: CommandRunner;
  logger: Logger;
  /** The per-host cap: every cluster of the pool holds a slot while it exists. */
  slots?: ClusterSlots;
  /** Cluster names: `<prefix>-<hex>`. */
  namePrefix?: string;
  /** How long a job waits for a cluster that is being cleaned or created, before it creates its own. */
  waitForPendingMs?: number;
  makeTempDir?: () => Promise<string>;
  clock?: Clock;
  onEvent?: (event: PoolEvent) => void;
}

interface WarmCluster {
  name: string;
  shape: string;
  config: KindConfig;
  dir: string;
  kubeconfig: string;
  nodes: string[];
  served: number;
  slot?: ClusterSlot;
  egressGuard?: { podCidrs: string[]; nodes: string[] };
  state: 'creating' | 'ready' | 'busy' | 'cleaning' | 'deleting';
  /** Namespaces of earlier jobs still being deleted in the background, and since when (monotonic ms). */
  terminating: Map<string, number>;
  loadedImages: LoadedImages;
}

interface Waiter {
  shape: string;
  resolve: (cluster: WarmCluster | undefined) => void;
}

/** What makes two jobs' clusters interchangeable. */
export function poolShape(config: KindConfig): string {
  const t = config.target;
  return JSON.stringify({
    kind: t.binary,
    kubectl: config.kubectl,
    docker: config.docker,
    nodeImage: t.nodeImage ?? null,
    workers: t.workers,
    disableDefaultCNI: t.disableDefaultCNI,
    internalKubeconfig: t.internalKubeconfig ?? false,
    egressGuard: config.isolation.nodeEgressGuard,
  });
}

export function createKindClusterPool(options: KindClusterPoolOptions): ClusterPool {
  const { runner, logger } = options;
  const log = logger.child({ component: 'cluster-pool' });
  const clock = options.clock ?? systemClock;
  const prefix = options.namePrefix ?? 'labgrader-warm';
  const waitForPendingMs = options.waitForPendingMs ?? 90_000;
  const size = Math.max(0, Math.floor(options.size));
  const clusters = new Set<WarmCluster>();
  const shapes = new Map<string, KindConfig>();
  const waiters: Waiter[] = [];
  const work = new Set<Promise<void>>();
  const closing = new AbortController();
  const stats = { hits: 0, misses: 0, created: 0, recycled: 0 };
  const emit = (event: PoolEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // Metrics never break grading.
    }
  };
  const track = (p: Promise<void>) => {
    const tracked = p.finally(() => work.delete(tracked));
    work.add(tracked);
  };
  const toolsOf = (config: KindConfig, kubeconfig?: string): KindTools => {
    const transcript = new Transcript(clock, clock.monotonicMs());
    const tool = (binary: string, base: string[] = []) =>
      new Tool(runner, binary, displayName(binary), base, {}, transcript, log, closing.signal);
    return {
      kind: tool(config.target.binary),
      kubectl: tool(config.kubectl, kubeconfig ? ['--kubeconfig', kubeconfig] : []),
      docker: tool(config.docker),
    };
  };
  const inShape = (shape: string, state?: WarmCluster['state']) =>
    [...clusters].filter((c) => c.shape === shape && (!state || c.state === state));

  /** Hands a ready cluster to the first job waiting for its shape; true when one took it. */
  const handOver = (cluster: WarmCluster): boolean => {
    const i = waiters.findIndex((w) => w.shape === cluster.shape);
    if (i < 0) return false;
    const [waiter] = waiters.splice(i, 1);
    cluster.state = 'busy';
    waiter!.resolve(cluster);
    return true;
  };

  const remove = async (cluster: WarmCluster, reason: string): Promise<void> => {
    cluster.state = 'deleting';
    stats.recycled += 1;
    emit({ type: 'recycled', cluster: cluster.name, reason });
    log.info('deleting a warm cluster', { cluster: cluster.name, reason, served: cluster.served });
    const report = await deleteKindCluster({
      name: cluster.name,
      kubeconfig: cluster.kubeconfig,
      tools: toolsOf(cluster.config, cluster.kubeconfig),
      logger: log,
      now: () => clock.monotonicMs(),
    });
    if (!report.ok) log.error('a warm cluster could not be deleted', { cluster: cluster.name, detail: report.detail });
    if (cluster.dir) await rm(cluster.dir, { recursive: true, force: true }).catch(() => {});
    await cluster.slot
      ?.release({ leftBehind: !report.ok })
      .catch((err: unknown) => log.warn('releasing a warm cluster slot failed', { error: String(err) }));
    clusters.delete(cluster);
  };

  const provision = async (config: KindConfig, shape: string): Promise<void> => {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    const t0 = clock.monotonicMs();
    const progress = (message: string) => log.debug('warming a cluster', { cluster: name, step: message });
    // On record before the first await: a job that asks meanwhile sees it coming.
    const cluster: WarmCluster = {
      name,
      shape,
      config,
      dir: '',
      kubeconfig: '',
      nodes: kindNodeNames(name, config.target.workers),
      served: 0,
      state: 'creating',
      terminating: new Map(),
      loadedImages: new Map(),
    };
    clusters.add(cluster);
    let created = false;
    try {
      cluster.dir = await (options.makeTempDir ?? (() => mkdtemp(path.join(tmpdir(), 'labgrader-warm-'))))();
      cluster.kubeconfig = path.join(cluster.dir, 'kubeconfig');
      const { kubeconfig } = cluster;
      const tools = toolsOf(config, kubeconfig);
      await checkKindPrerequisites(config, tools, progress);
      if (options.slots) {
        cluster.slot = await options.slots.acquire({
          cluster: name,
          signal: closing.signal,
          progress: (message) => {
            yieldIdle(shape);
            progress(message);
          },
        });
      }
      created = true;
      await createKindCluster({ name, target: config.target, kubeconfig, tools, progress });
      await installClusterPolicy(tools.kubectl);
      if (config.isolation.nodeEgressGuard) {
        const nodeList = await tools.kubectl.json<NodeList>(['get', 'nodes'], { unrecorded: true });
        const guard = await installNodeGuard(tools.docker, cluster.nodes, nodeList);
        cluster.egressGuard = { podCidrs: guard.podCidrs, nodes: [...cluster.nodes] };
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      emit({ type: 'create-failed', error });
      if (!closing.signal.aborted) log.warn('a warm cluster could not be created', { cluster: name, error });
      if (created) await remove(cluster, 'it could not be set up');
      else {
        clusters.delete(cluster);
        if (cluster.dir) await rm(cluster.dir, { recursive: true, force: true }).catch(() => {});
        await cluster.slot?.release({ leftBehind: false }).catch(() => {});
      }
      // A job waiting for this one creates its own instead.
      if (inShape(shape, 'creating').length + inShape(shape, 'cleaning').length < waitingFor(shape)) {
        const i = waiters.findIndex((w) => w.shape === shape);
        if (i >= 0) waiters.splice(i, 1)[0]!.resolve(undefined);
      }
      return;
    }
    const seconds = Math.round((clock.monotonicMs() - t0) / 100) / 10;
    stats.created += 1;
    emit({ type: 'created', cluster: name, seconds });
    log.info('a warm cluster is ready', { cluster: name, seconds });
    if (closing.signal.aborted) return remove(cluster, 'the pool is closing');
    cluster.state = 'ready';
    handOver(cluster);
  };

  const waitingFor = (shape: string) => waiters.filter((w) => w.shape === shape).length;

  /**
   * Someone waits for a slot of the per-host cap (a warm cluster of another shape being made, a job making a
   * cluster of its own): an idle warm cluster of another shape gives its slot up rather than make them wait
   * behind a cluster nobody uses. Only then: with slots to spare, idle clusters of every shape stay.
   */
  const yieldIdle = (forShape?: string) => {
    const idle = [...clusters].find((c) => c.state === 'ready' && c.shape !== forShape);
    if (idle) track(remove(idle, 'a cluster of another shape waits for its slot of the per-host cap'));
  };

  /** Creates clusters until the shape has `size` (busy ones included). */
  const refill = (shape: string) => {
    const config = shapes.get(shape);
    if (!config || closing.signal.aborted) return;
    const live = inShape(shape).filter((c) => c.state !== 'deleting').length;
    for (let i = live; i < size; i++) track(provision(config, shape));
  };

  const healthy = async (cluster: WarmCluster): Promise<string | undefined> => {
    const { kubectl } = toolsOf(cluster.config, cluster.kubeconfig);
    const ready = await kubectl
      .run(['get', '--raw', '/readyz', '--request-timeout=10s'], { timeoutMs: 15_000, unrecorded: true })
      .catch((err: unknown) => ({ exitCode: 1, stdout: '', stderr: String(err) }));
    if (ready.exitCode !== 0) return `its API server does not answer (${firstLine(ready.stderr)})`;
    const nodes = await kubectl
      .json<NodeList & { items: { metadata: { name: string }; spec?: { unschedulable?: boolean } }[] }>(
        ['get', 'nodes'],
        { timeoutMs: 15_000, unrecorded: true },
      )
      .catch(() => undefined);
    if (!nodes) return 'its nodes could not be listed';
    // Earlier jobs' namespaces go in the background (stopJobNamespaces): each must be on its way, and go in time.
    const left = await kubectl
      .run(['get', 'namespaces', '-l', JOB_LABEL, '-o', 'name'], { timeoutMs: 15_000, unrecorded: true })
      .catch(() => undefined);
    if (left?.exitCode !== 0) return 'its namespaces could not be listed';
    const present = new Set(
      left.stdout
        .split(/\s+/)
        .filter(Boolean)
        .map((n) => n.replace(/^namespace\//, '')),
    );
    for (const name of [...cluster.terminating.keys()]) if (!present.has(name)) cluster.terminating.delete(name);
    for (const name of present) {
      const since = cluster.terminating.get(name);
      if (since === undefined) return `namespace ${name} of an earlier job is still there`;
      if (clock.monotonicMs() - since > NAMESPACE_GONE_WITHIN_MS) {
        return `namespace ${name} of an earlier job has not gone in ${NAMESPACE_GONE_WITHIN_MS / 1000} s`;
      }
    }
    for (const node of nodes.items) {
      const conditions = (node as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions;
      const ready = conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (!ready) return `node ${node.metadata.name} is not Ready`;
      if (node.spec?.unschedulable) return `node ${node.metadata.name} is cordoned`;
    }
    return undefined;
  };

  const lease = (cluster: WarmCluster): WarmLease => {
    let released = false;
    return {
      name: cluster.name,
      kubeconfig: cluster.kubeconfig,
      nodes: cluster.nodes,
      workers: cluster.config.target.workers,
      served: cluster.served,
      maxJobs: options.maxJobsPerCluster,
      ...(cluster.egressGuard ? { egressGuard: cluster.egressGuard } : {}),
      loadedImages: cluster.loadedImages,
      release({ namespaces, dirty, keep }) {
        if (released) return 'already given back';
        released = true;
        cluster.served += 1;
        if (keep) {
          // Out of the pool, left running for debugging; not the janitor's (like a kept fresh cluster).
          clusters.delete(cluster);
          void cluster.slot?.release({ leftBehind: false }).catch(() => {});
          track(Promise.resolve().then(() => refill(cluster.shape)));
          const hint = `kind delete cluster --name ${cluster.name}`;
          log.warn('kept a warm cluster for debugging', { cluster: cluster.name, kubeconfig: cluster.kubeconfig });
          return `kept warm cluster ${cluster.name} for debugging (keepOnFailure), out of the pool; delete it with: ${hint}`;
        }
        const why =
          dirty[0] ??
          (closing.signal.aborted ? 'the pool is closing' : undefined) ??
          (cluster.served >= options.maxJobsPerCluster
            ? `it graded ${cluster.served} jobs (maxJobsPerCluster)`
            : undefined);
        cluster.state = why ? 'deleting' : 'cleaning';
        track(
          (async () => {
            if (why) {
              await remove(cluster, why);
              refill(cluster.shape);
              return;
            }
            const stoppedAt = clock.monotonicMs();
            const cleaned: TeardownReport = await stopJobNamespaces({
              kubectl: toolsOf(cluster.config, cluster.kubeconfig).kubectl,
              namespaces,
              logger: log,
              now: () => clock.monotonicMs(),
            });
            for (const name of namespaces) cluster.terminating.set(name, stoppedAt);
            const sick = cleaned.ok ? await healthy(cluster) : undefined;
            if (!cleaned.ok || sick || closing.signal.aborted) {
              await remove(
                cluster,
                !cleaned.ok ? `its job's pods did not stop (${cleaned.detail})` : (sick ?? 'the pool is closing'),
              );
              refill(cluster.shape);
              return;
            }
            emit({ type: 'reused', cluster: cluster.name, served: cluster.served });
            cluster.state = 'ready';
            if (!handOver(cluster) && inShape(cluster.shape, 'ready').length > size) {
              await remove(cluster, 'the pool has more ready clusters than it keeps');
            }
          })(),
        );
        return why
          ? `gave warm cluster ${cluster.name} back after ${cluster.served} job${cluster.served === 1 ? '' : 's'}; it is deleted and replaced because ${why}`
          : `gave warm cluster ${cluster.name} back (job ${cluster.served} of at most ${options.maxJobsPerCluster}); namespaces ${namespaces.join(', ') || '(none)'} are deleted, and every pod of them is stopped and proven gone before it grades again`;
      },
    };
  };

  return {
    async take(config, request) {
      if (size === 0 || closing.signal.aborted) return undefined;
      const shape = poolShape(config);
      if (!shapes.has(shape)) shapes.set(shape, config);
      for (;;) {
        const ready = inShape(shape, 'ready')[0];
        if (ready) {
          ready.state = 'busy';
          const sick = await healthy(ready);
          if (sick) {
            track(remove(ready, `it failed its health check: ${sick}`).then(() => refill(shape)));
            continue;
          }
          stats.hits += 1;
          emit({ type: 'hit', shape });
          return lease(ready);
        }
        break;
      }
      refill(shape);
      // A cluster that is being cleaned or created is ready sooner than a new one would be.
      const pending = inShape(shape, 'creating').length + inShape(shape, 'cleaning').length;
      if (pending > waitingFor(shape)) {
        request.progress('waiting for a warm cluster that is being prepared');
        const cluster = await new Promise<WarmCluster | undefined>((resolve) => {
          const waiter: Waiter = { shape, resolve };
          const done = (value: WarmCluster | undefined) => {
            clearTimeout(timer);
            request.signal.removeEventListener('abort', onAbort);
            resolve(value);
          };
          waiter.resolve = done;
          const giveUp = () => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            done(undefined);
          };
          const timer = setTimeout(giveUp, waitForPendingMs);
          const onAbort = () => giveUp();
          request.signal.addEventListener('abort', onAbort, { once: true });
          waiters.push(waiter);
        });
        if (cluster) {
          stats.hits += 1;
          emit({ type: 'hit', shape });
          return lease(cluster);
        }
      }
      stats.misses += 1;
      emit({ type: 'miss', shape });
      return undefined;
    },
    prewarm(config) {
      if (size === 0) return;
      const shape = poolShape(config);
      if (!shapes.has(shape)) shapes.set(shape, config);
      refill(shape);
    },
    async idle() {
      while (work.size > 0) await Promise.allSettled([...work]);
    },
    async close() {
      closing.abort(new Error('the cluster pool is closing'));
      for (const waiter of waiters.splice(0)) waiter.resolve(undefined);
      await Promise.allSettled([...work]);
      await Promise.allSettled(
        [...clusters].filter((c) => c.state === 'ready').map((c) => remove(c, 'the pool is closing')),
      );
      await this.idle();
    },
    slots() {
      const inner = options.slots;
      if (!inner) return undefined;
      return {
        acquire: (request) =>
          inner.acquire({
            ...request,
            progress: (message) => {
              yieldIdle();
              request.progress(message);
            },
          }),
      };
    },
    stats() {
      const all = [...clusters];
      return {
        ready: all.filter((c) => c.state === 'ready').length,
        busy: all.filter((c) => c.state === 'busy').length,
        pending: all.filter((c) => c.state === 'creating' || c.state === 'cleaning').length,
        ...stats,
      };
    },
  };
}

/** A job's session in a warm cluster: its own namespaces, the nodes shared with nobody else at the time. */
export function createWarmSession(config: KindConfig, deps: SessionDeps, lease: WarmLease): TargetSession {
  const tool = (binary: string, base: string[] = []) =>
    new Tool(deps.runner, binary, displayName(binary), base, {}, deps.transcript, deps.logger, deps.signal);
  const kind = tool(config.target.binary);
  const docker = tool(config.docker);
  const kubectl = tool(config.kubectl, ['--kubeconfig', lease.kubeconfig]);
  const nodeAccess: NodeAccess = { docker, exec: (n, args) => docker.run(['exec', n, ...args]) };
  const namespaces: string[] = [];
  const dirty: string[] = [];
  const prefix = 'lg';
  return {
    description: `namespaces ${prefix}-${deps.job}-* in the warm kind cluster ${lease.name} (job ${lease.served + 1} of at most ${lease.maxJobs}${config.target.nodeImage ? `, node image ${config.target.nodeImage}` : ''})`,
    mapping: { mode: 'existing', job: deps.job, prefix },
    kubectl,
    nodeAccess,
    clusterPolicy: 'check',
    ...(lease.egressGuard ? { egressGuard: lease.egressGuard } : {}),
    ownsNodes: true,
    loadsImages: true,
    graderServiceAccount: false,
    markDirty(reason) {
      if (!dirty.includes(reason)) dirty.push(reason);
    },
    probeNode: async () => lease.nodes[0],
    async setUp(progress) {
      progress(`grading in the warm kind cluster ${lease.name}`);
    },
    loadImages: (images, progress) =>
      loadKindImages(lease.name, images, { kind, docker }, progress, {
        nodes: lease.nodes,
        loaded: lease.loadedImages,
      }),
    registerNamespace(name) {
      if (!namespaces.includes(name)) namespaces.push(name);
    },
    nodes: async () => [...lease.nodes],
    schedulableNodes: Math.max(1, lease.workers),
    async tearDown({ keep, progress }) {
      // A job stopped half-way may have left anything half-done (a node paused, a drain under way).
      if (deps.signal.aborted) dirty.push('its job was stopped before it finished');
      const detail = lease.release({ job: deps.job, namespaces, dirty, keep });
      progress(detail);
      return { ok: true, detail };
    },
  };
}
