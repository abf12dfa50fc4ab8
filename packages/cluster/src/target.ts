/**
 * Where a job's lab runs, and how it is cleaned up:
 *
 *  - kind: a cluster of its own per job (`<prefix>-<job>`), with a private
 *    kubeconfig in a temporary directory. Deleted afterwards in every outcome
 *    (then checked: no container labelled with the cluster's name is left).
 *  - existing: namespaces of its own per job in a cluster someone else runs
 *    (`lg-<job>-lab85`), created with `kubectl create` so a namespace that
 *    already exists is never adopted, and deleted afterwards with everything
 *    in them, plus the renamed cluster-scoped RBAC objects (by label).
 *
 * `tearDown` never throws and never uses the stage's AbortSignal: it runs
 * after a time-out too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CommandNotFoundError,
  NotGradableError,
  type CommandResult,
  type CommandRunner,
  type Logger,
} from '@labgrader/core';
import { Tool, displayName, firstLine, type Transcript } from './commands.js';
import type { ClusterConfig, ExistingTarget, KindTarget } from './config.js';
import { JOB_LABEL, type NamespaceMapping } from './plan.js';
import { useInternalKubeconfig } from './kind-kubeconfig.js';
import type { ClusterSlot, ClusterSlots } from './slots.js';

export interface NodeAccess {
  /** Runs a command in a node (a Docker container named after the node). */
  exec(node: string, args: readonly string[]): Promise<CommandResult>;
  docker: Tool;
}

export interface TeardownReport {
  /** One line for evidence: what was deleted (or kept), and how long it took. */
  detail: string;
  ok: boolean;
}

export interface TargetSession {
  /** `kind cluster labgrader-3fa9c2 (node image …)`, `namespaces lg-3fa9c2-* in context kind-x`. */
  description: string;
  mapping: NamespaceMapping;
  kubectl: Tool;
  /** Shell access to the nodes, when the target allows it (kind; existing with nodeAccess: docker). */
  nodeAccess?: NodeAccess;
  /** A node to probe Services from, when there is node access. */
  probeNode(): Promise<string | undefined>;
  setUp(progress: (message: string) => void): Promise<void>;
  /** Loads local images into the cluster; returns which were loaded and which are not local. */
  loadImages(
    images: readonly string[],
    progress: (message: string) => void,
  ): Promise<{ loaded: string[]; notLocal: string[] }>;
  /** Namespaces this job created (deleted by tearDown in existing clusters). */
  registerNamespace(name: string): void;
  /** The node containers (kind): where the egress guard goes, and what the node drills act on. */
  nodes(): Promise<string[]>;
  /** How many nodes run the lab's pods (kind: the workers, or the control plane alone). */
  readonly schedulableNodes: number;
  tearDown(options: { keep: boolean; progress: (message: string) => void }): Promise<TeardownReport>;
}

export interface SessionDeps {
  runner: CommandRunner;
  transcript: Transcript;
  logger: Logger;
  signal: AbortSignal;
  job: string;
  makeTempDir?: () => Promise<string>;
  /** The per-host cap on kind clusters (none: no cap). */
  slots?: ClusterSlots;
}

const TEARDOWN_TIMEOUT_MS = 180_000;

/** Thaws every frozen cgroup of a node (cgroup v1 freezer and v2), best effort. */
const THAW_FROZEN_CGROUPS = [
  'find /sys/fs/cgroup -name freezer.state 2>/dev/null | while read -r f; do',
  '  grep -q FROZEN "$f" 2>/dev/null && echo THAWED > "$f" 2>/dev/null; done;',
  'find /sys/fs/cgroup -name cgroup.freeze 2>/dev/null | while read -r f; do',
  '  [ "$(cat "$f" 2>/dev/null)" = 1 ] && echo 0 > "$f" 2>/dev/null; done; true',
].join('\n');

function unavailable(message: string, hint: string, cause?: unknown): NotGradableError {
  return new NotGradableError('cluster-unavailable', message, { hint, ...(cause ? { cause } : {}) });
}

/** Maps a missing program to a not-gradable "cluster unavailable" with the way to fix it. */
export async function requireTool<T>(binary: string, envVar: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw unavailable(
        `the cluster stage needs '${displayName(binary)}', which is not installed here (looked for '${binary}')`,
        `Install it or point ${envVar} at it, or grade without the cluster stage (--cluster none).`,
        err,
      );
    }
    throw err;
  }
}

/**
 * Multi-node clusters exist for the node drills. A node that stops is declared
 * lost after the controller manager's node-monitor-grace-period (Kubernetes:
 * 50 s), and its pods are evicted after the NoExecute toleration the API
 * server's DefaultTolerationSeconds admission gives every pod that sets none
 * (300 s): six minutes per grading run. Ours: the kubelet renews its lease
 * every 5 s (nodeLeaseDurationSeconds 20), the node is declared lost after 20 s
 * without a renewal (4 missed renewals, as Kubernetes' own 40 s/10 s), and
 * pods without a toleration of their own are evicted 10 s later. A lab that
 * sets its own tolerations keeps them.
 */
export const NODE_FAILURE_TIMINGS = [
  'kubeadmConfigPatches:',
  '  - |',
  '    kind: ClusterConfiguration',
  '    apiServer:',
  '      extraArgs:',
  '        default-not-ready-toleration-seconds: "10"',
  '        default-unreachable-toleration-seconds: "10"',
  '    controllerManager:',
  '      extraArgs:',
  '        node-monitor-grace-period: "20s"',
  '        node-monitor-period: "2s"',
  '  - |',
  '    kind: KubeletConfiguration',
  '    nodeLeaseDurationSeconds: 20',
];

export function kindConfigYaml(target: KindTarget): string {
  return [
    'kind: Cluster',
    'apiVersion: kind.x-k8s.io/v1alpha4',
    ...(target.disableDefaultCNI ? ['networking:', '  disableDefaultCNI: true'] : []),
    ...(target.workers > 0 ? NODE_FAILURE_TIMINGS : []),
    'nodes:',
    '  - role: control-plane',
    ...Array.from({ length: target.workers }, () => '  - role: worker'),
    '',
  ].join('\n');
}

export function createKindSession(config: ClusterConfig & { target: KindTarget }, deps: SessionDeps): TargetSession {
  const target = config.target;
  const name = `${target.clusterNamePrefix}-${deps.job}`;
  const node = `${name}-control-plane`;
  let dir: string | undefined;
  let kubeconfig = '';
  let created = false;
  let slot: ClusterSlot | undefined;
  const tool = (binary: string, base: string[] = []) =>
    new Tool(deps.runner, binary, displayName(binary), base, {}, deps.transcript, deps.logger, deps.signal);
  const kind = tool(target.binary);
  const docker = tool(config.docker);
  // The kubeconfig path is only known once the temporary directory exists; the Tool is rebuilt then.
  let kubectl = tool(config.kubectl);
  const nodeAccess: NodeAccess = {
    docker,
    exec: (n, args) => docker.run(['exec', n, ...args]),
  };
  const session: TargetSession = {
    description: `kind cluster ${name}${target.nodeImage ? ` (node image ${target.nodeImage})` : ''}`,
    mapping: { mode: 'kind', job: deps.job },
    get kubectl() {
      return kubectl;
    },
    nodeAccess,
    probeNode: async () => node,
    async setUp(progress) {
      await requireTool(target.binary, 'LABGRADER_KIND', () => kind.output(['version'], { timeoutMs: 30_000 }));
      await requireTool(config.kubectl, 'LABGRADER_KUBECTL', () =>
        kubectl.output(['version', '--client'], { timeoutMs: 30_000 }),
      );
      const info = await requireTool(config.docker, 'LABGRADER_DOCKER', () =>
        docker.run(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 }),
      );
      if (info.exitCode !== 0 || !info.stdout.trim()) {
        throw unavailable(
          `no Docker engine answers here (docker info: ${firstLine(info.stderr) || `exit ${info.exitCode}`})`,
          'kind runs its nodes as Docker containers: start the Docker engine (or point DOCKER_HOST at one), or grade with --cluster none.',
        );
      }
      if (target.nodeImage) {
        const image = await docker.run(['image', 'inspect', '--format', '{{.Id}}', target.nodeImage]);
        if (image.exitCode !== 0) progress(`node image ${target.nodeImage} is not local: kind will pull it`);
      }
      dir = await (deps.makeTempDir ?? (() => mkdtemp(path.join(tmpdir(), 'labgrader-kind-'))))();
      kubeconfig = path.join(dir, 'kubeconfig');
      kubectl = tool(config.kubectl, ['--kubeconfig', kubeconfig]);
      if (deps.slots) slot = await deps.slots.acquire({ cluster: name, signal: deps.signal, progress });
      progress(`creating ${session.description}`);
      created = true;
      const create = await kind.run(
        [
          'create',
          'cluster',
          '--name',
          name,
          ...(target.nodeImage ? ['--image', target.nodeImage] : []),
          '--config',
          '-',
          '--kubeconfig',
          kubeconfig,
          '--wait',
          `${Math.round(target.createTimeoutSeconds)}s`,
          ...(target.keepOnFailure ? ['--retain'] : []),
        ],
        { input: kindConfigYaml(target), timeoutMs: (target.createTimeoutSeconds + 60) * 1000 },
      );
      if (create.exitCode !== 0) {
        const why = (create.stderr || create.stdout)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /ERROR|error|failed/i.test(l))
          .slice(-2)
          .join(' ');
        throw unavailable(
          `kind create cluster failed${create.timedOut ? ' (timed out)' : ''}: ${firstLine(why || create.stderr)}`,
          target.nodeImage
            ? `Check that the node image ${target.nodeImage} exists locally or can be pulled (LABGRADER_KIND_NODE_IMAGE), and that Docker can run privileged containers.`
            : 'Check that kind can pull its node image (or set LABGRADER_KIND_NODE_IMAGE to a local one) and that Docker can run privileged containers.',
        );
      }
      if (target.internalKubeconfig) await useInternalKubeconfig(kind, name, kubeconfig);
      if (target.workers > 0) {
        // kind waits for the control plane; the workers are Ready once their CNI configuration exists.
        progress(`waiting for ${target.workers} worker node${target.workers === 1 ? '' : 's'}`);
        const ready = await kubectl.run(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s'], {
          timeoutMs: 200_000,
        });
        if (ready.exitCode !== 0) {
          throw unavailable(
            `the new kind cluster's worker nodes did not become Ready: ${firstLine(ready.stderr || ready.stdout)}`,
            'The cluster could not start its nodes; this is not your fault. Try again, or report it.',
          );
        }
      }
      // kind waits for the node; Services need kube-proxy's rules and CoreDNS.
      progress('waiting for kube-proxy and CoreDNS');
      for (const what of ['daemonset/kube-proxy', 'deployment/coredns']) {
        const rollout = await kubectl.run(['-n', 'kube-system', 'rollout', 'status', what, '--timeout=180s'], {
          timeoutMs: 200_000,
        });
        if (rollout.exitCode !== 0) {
          throw unavailable(
            `the new kind cluster's ${what} did not become ready: ${firstLine(rollout.stderr || rollout.stdout)}`,
            'The cluster could not start its system components; this is not your fault. Try again, or report it.',
          );
        }
      }
    },
    async loadImages(images, progress) {
      const loaded: string[] = [];
      const notLocal: string[] = [];
      for (const image of images) {
        const inspect = await docker.run(['image', 'inspect', '--format', '{{.Id}}', image]);
        (inspect.exitCode === 0 ? loaded : notLocal).push(image);
      }
      if (loaded.length > 0) {
        progress(`loading ${loaded.length} image${loaded.length === 1 ? '' : 's'} into the cluster`);
        const load = await kind.run(['load', 'docker-image', ...loaded, '--name', name], { timeoutMs: 600_000 });
        if (load.exitCode !== 0) {
          throw unavailable(
            `kind load docker-image failed: ${firstLine(load.stderr)}`,
            'The images could not be copied into the cluster; this is not your fault. Try again, or report it.',
          );
        }
      }
      return { loaded, notLocal };
    },
    registerNamespace: () => {},
    // kind names workers <cluster>-worker, <cluster>-worker2, …
    nodes: async () => [
      node,
      ...Array.from({ length: target.workers }, (_, i) => `${name}-worker${i === 0 ? '' : i + 1}`),
    ],
    schedulableNodes: Math.max(1, target.workers),
    async tearDown({ keep, progress }) {
      let report: TeardownReport | undefined;
      try {
        report = await (async (): Promise<TeardownReport> => {
          const t0 = deps.transcript.now();
          try {
            if (!created) return { ok: true, detail: 'no cluster was created' };
            if (keep) {
              const hint = `kind delete cluster --name ${name}`;
              deps.logger.warn('kept the kind cluster for debugging', { cluster: name, kubeconfig, delete: hint });
              progress(`kept ${name} for debugging (kubeconfig ${kubeconfig}); delete it with: ${hint}`);
              return { ok: true, detail: `kept ${name} for debugging (keepOnFailure); delete it with: ${hint}` };
            }
            progress(`deleting the kind cluster ${name}`);
            // Every step runs whatever the one before did: a Ctrl-C that a terminal sends to the whole process group
            // kills the cleanup's own commands too (the runner then throws), and the cluster must still go.
            const step = async (args: string[], tool: Tool, timeoutMs: number): Promise<CommandResult | undefined> => {
              try {
                return await tool.run(args, { signal: null, timeoutMs });
              } catch (err) {
                deps.logger.warn('a cleanup command failed', {
                  cluster: name,
                  command: args.join(' '),
                  error: String(err),
                });
                return undefined;
              }
            };
            const listArgs = ['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${name}`];
            // A node whose containerd was killed half-way (a Ctrl-C, a job aborted while a pod started) can keep a
            // pod's cgroup frozen (runc freezes it while it sets device rules). A frozen process cannot be killed,
            // so neither can the node: `kind delete` then fails ("did not receive an exit event"). Thaw first.
            const nodeIds = ((await step(listArgs, docker, 60_000))?.stdout ?? '').split(/\s+/).filter(Boolean);
            for (const id of nodeIds) await step(['exec', id, 'sh', '-c', THAW_FROZEN_CGROUPS], docker, 30_000);
            const deleteArgs = ['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig || '/dev/null'];
            // Killed (not failed): once more. What it left either way is removed below.
            let deleted = await step(deleteArgs, kind, TEARDOWN_TIMEOUT_MS);
            deleted ??= await step(deleteArgs, kind, TEARDOWN_TIMEOUT_MS);
            let left = (await step(listArgs, docker, 60_000)) ?? (await step(listArgs, docker, 60_000));
            const ids = (left?.stdout ?? '').split(/\s+/).filter(Boolean);
            if (ids.length > 0) {
              await step(['rm', '-f', '-v', ...ids], docker, 60_000);
              deps.logger.warn('kind delete cluster left containers behind; removed them', {
                cluster: name,
                containers: ids,
              });
              left = await step(listArgs, docker, 60_000);
            }
            const remaining = left ? left.stdout.split(/\s+/).filter(Boolean) : undefined;
            const seconds = ((deps.transcript.now() - t0) / 1000).toFixed(1);
            // Gone is what counts: no container of the cluster is left, whatever kind delete said.
            const ok = left?.exitCode === 0 && remaining?.length === 0;
            if (!ok)
              deps.logger.error('kind delete cluster failed', {
                cluster: name,
                stderr: firstLine(deleted?.stderr ?? ''),
              });
            return {
              ok,
              detail: ok
                ? `deleted kind cluster ${name} in ${seconds} s${ids.length ? ` (and ${ids.length} leftover container${ids.length === 1 ? '' : 's'})` : ''}`
                : `kind delete cluster --name ${name} failed: ${firstLine(deleted?.stderr || left?.stderr || 'interrupted')}${remaining?.length ? `; containers left: ${remaining.join(' ')}` : ''}`,
            };
          } catch (err) {
            deps.logger.error('deleting the kind cluster failed', { cluster: name, error: String(err) });
            return { ok: false, detail: `deleting kind cluster ${name} failed: ${String(err)}` };
          } finally {
            if (dir && !keep) await rm(dir, { recursive: true, force: true }).catch(() => {});
          }
        })();
        return report;
      } finally {
        // The slot is free either way; a cluster that could not be deleted stays on record for the janitor.
        const held = slot;
        slot = undefined;
        await held
          ?.release({ leftBehind: !keep && report?.ok !== true })
          .catch((err: unknown) =>
            deps.logger.warn('releasing the cluster slot failed', { cluster: name, error: String(err) }),
          );
      }
    },
  };
  return session;
}

export function createExistingSession(
  config: ClusterConfig & { target: ExistingTarget },
  deps: SessionDeps,
): TargetSession {
  const target = config.target;
  const base = [
    ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
    ...(target.context ? ['--context', target.context] : []),
  ];
  const env = target.kubeconfigEnv ? { KUBECONFIG: target.kubeconfigEnv } : {};
  const kubectl = new Tool(
    deps.runner,
    config.kubectl,
    displayName(config.kubectl),
    base,
    env,
    deps.transcript,
    deps.logger,
    deps.signal,
  );
  const docker = new Tool(
    deps.runner,
    config.docker,
    displayName(config.docker),
    [],
    {},
    deps.transcript,
    deps.logger,
    deps.signal,
  );
  const namespaces: string[] = [];
  const mapping: NamespaceMapping = { mode: 'existing', job: deps.job, prefix: target.namespacePrefix };
  const nodeAccess: NodeAccess | undefined =
    target.nodeAccess === 'docker' ? { docker, exec: (n, args) => docker.run(['exec', n, ...args]) } : undefined;
  const where = target.context ? `context ${target.context}` : 'the current context';
  return {
    description: `namespaces ${target.namespacePrefix}-${deps.job}-* in the existing cluster (${where})`,
    mapping,
    kubectl,
    ...(nodeAccess ? { nodeAccess } : {}),
    async probeNode() {
      if (!nodeAccess) return undefined;
      const nodes = await kubectl.json<{ items: { metadata: { name: string } }[] }>(['get', 'nodes'], {
        unrecorded: true,
      });
      return nodes.items[0]?.metadata.name;
    },
    async setUp(progress) {
      await requireTool(config.kubectl, 'LABGRADER_KUBECTL', () =>
        kubectl.output(['version', '--client'], { timeoutMs: 30_000 }),
      );
      progress(`connecting to the cluster (${where})`);
      const ready = await kubectl.run(['get', '--raw', '/readyz', '--request-timeout=20s'], { timeoutMs: 40_000 });
      if (ready.exitCode !== 0) {
        throw unavailable(
          `the cluster (${where}) cannot be reached: ${firstLine(ready.stderr || ready.stdout)}`,
          "Check --kube-context / the rubric's stages.cluster.settings.target and KUBECONFIG, or grade with --cluster none.",
        );
      }
      const canI = await kubectl.run(['auth', 'can-i', 'create', 'namespaces'], { timeoutMs: 30_000 });
      if (canI.stdout.trim() !== 'yes') {
        throw unavailable(
          `the credentials for ${where} may not create namespaces, which each grading job needs`,
          'Grant the grader permission to create and delete namespaces (and what the labs create in them).',
        );
      }
      // Who grades here, for the report's target line (SelfSubjectReview, Kubernetes 1.28+): with
      // deploy/grading-cluster/, the least-privileged labgrader-grader ServiceAccount. Never fatal.
      const whoami = await kubectl
        .run(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { timeoutMs: 30_000, unrecorded: true })
        .catch(() => undefined);
      const user = whoami?.exitCode === 0 ? whoami.stdout.trim() : '';
      if (user) this.description = `${this.description} as ${user}`;
    },
    async loadImages(images) {
      // Images cannot be pushed into a cluster someone else runs: the nodes pull what they can.
      return { loaded: [], notLocal: [...images] };
    },
    registerNamespace(name) {
      if (!namespaces.includes(name)) namespaces.push(name);
    },
    nodes: async () => [],
    schedulableNodes: 1,
    async tearDown({ keep, progress }) {
      const t0 = deps.transcript.now();
      if (namespaces.length === 0) return { ok: true, detail: 'nothing was created' };
      if (keep) {
        const hint = `kubectl delete namespace ${namespaces.join(' ')}`;
        progress(`kept ${namespaces.join(', ')} for debugging; delete with: ${hint}`);
        return {
          ok: true,
          detail: `kept ${namespaces.join(', ')} for debugging (keepOnFailure); delete with: ${hint}`,
        };
      }
      try {
        progress(`deleting namespaces ${namespaces.join(', ')}`);
        let ok = true;
        if (namespaces.length > 0) {
          const args = ['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=true', '--timeout=170s'];
          // A Ctrl-C sent to the whole process group kills this command too (the runner then throws): once more.
          const attempt = () =>
            kubectl.run(args, { signal: null, timeoutMs: TEARDOWN_TIMEOUT_MS }).catch((err: unknown) => {
              deps.logger.warn('kubectl delete namespace failed', { namespaces, error: String(err) });
              return undefined;
            });
          let deleted = await attempt();
          deleted ??= await attempt();
          ok &&= deleted?.exitCode === 0;
        }
        const left = await kubectl.run(['get', 'namespaces', '-l', `${JOB_LABEL}=${deps.job}`, '-o', 'name'], {
          signal: null,
          timeoutMs: 60_000,
        });
        const remaining = left.stdout.split(/\s+/).filter(Boolean);
        const seconds = ((deps.transcript.now() - t0) / 1000).toFixed(1);
        if (remaining.length > 0) deps.logger.error('namespaces left after cleanup', { namespaces: remaining });
        return {
          ok: ok && remaining.length === 0,
          detail:
            remaining.length === 0
              ? `deleted namespaces ${namespaces.join(', ')} in ${seconds} s`
              : `namespaces still present after cleanup: ${remaining.join(', ')}`,
        };
      } catch (err) {
        deps.logger.error('cleaning up the namespaces failed', { namespaces, error: String(err) });
        return { ok: false, detail: `cleaning up ${namespaces.join(', ')} failed: ${String(err)}` };
      }
    },
  };
}
