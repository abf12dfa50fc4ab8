/**
 * A kind cluster's life, shared by the job that creates its own cluster
 * (target.ts) and by the warm pool (pool.ts): check the programs, create the
 * cluster and wait until Services work, load images, delete it so that no
 * container of it is left.
 */
import { CommandNotFoundError, NotGradableError, type CommandResult, type Logger } from '@labgrader/core';
import { displayName, firstLine, type Tool } from './commands.js';
import type { ClusterConfig, KindTarget } from './config.js';
import { normalizeReference } from './images.js';
import { useInternalKubeconfig } from './kind-kubeconfig.js';

export interface KindTools {
  kind: Tool;
  kubectl: Tool;
  docker: Tool;
}

export const TEARDOWN_TIMEOUT_MS = 180_000;

/** Thaws every frozen cgroup of a node (cgroup v1 freezer and v2), best effort. */
const THAW_FROZEN_CGROUPS = [
  'find /sys/fs/cgroup -name freezer.state 2>/dev/null | while read -r f; do',
  '  grep -q FROZEN "$f" 2>/dev/null && echo THAWED > "$f" 2>/dev/null; done;',
  'find /sys/fs/cgroup -name cgroup.freeze 2>/dev/null | while read -r f; do',
  '  [ "$(cat "$f" 2>/dev/null)" = 1 ] && echo 0 > "$f" 2>/dev/null; done; true',
].join('\n');

export function unavailable(message: string, hint: string, cause?: unknown): NotGradableError {
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

/** kind, kubectl and a Docker engine are there (else: not gradable here, with the way to fix it). */
export async function checkKindPrerequisites(
  config: ClusterConfig & { target: KindTarget },
  tools: KindTools,
  progress: (message: string) => void,
): Promise<void> {
  const target = config.target;
  const { kind, kubectl, docker } = tools;
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
}

/** kind names workers <cluster>-worker, <cluster>-worker2, … */
export function kindNodeNames(name: string, workers: number): string[] {
  return [
    `${name}-control-plane`,
    ...Array.from({ length: workers }, (_, i) => `${name}-worker${i === 0 ? '' : i + 1}`),
  ];
}

/** `kind create cluster`, then waits for the workers, kube-proxy and CoreDNS (Services need them). */
export async function createKindCluster(options: {
  name: string;
  target: KindTarget;
  kubeconfig: string;
  tools: KindTools;
  progress: (message: string) => void;
}): Promise<void> {
  const { name, target, kubeconfig, progress } = options;
  const { kind, kubectl } = options.tools;
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
}

/**
 * What a warm cluster remembers of the images it was given: per node and
 * image reference, the Docker image ID loaded and the manifest digest
 * containerd then held under that reference.
 */
export type LoadedImages = Map<string, { imageId: string; digest: string }>;

/** The manifest digest containerd holds under `ref` on a node (`ctr images ls`), if any. */
async function nodeImageDigest(docker: Tool, node: string, ref: string): Promise<string | undefined> {
  const r = await docker.run(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', `name==${ref}`], {
    unrecorded: true,
  });
  if (r.exitCode !== 0) return undefined;
  for (const line of r.stdout.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === ref) return fields.find((f) => /^sha256:[0-9a-f]{64}$/.test(f));
  }
  return undefined;
}

/**
 * Copies the images the local Docker daemon has into the cluster's nodes; the
 * others are left to pull. With `reuse` (a warm cluster), an image an earlier
 * job loaded is not copied again when every node still holds, under its
 * reference, the very manifest it was given (the same Docker image ID on this
 * side, the same digest on the nodes): a pull under the same name by a later
 * job, or the kubelet's image garbage collection, makes it load again.
 */
export async function loadKindImages(
  name: string,
  images: readonly string[],
  tools: Pick<KindTools, 'kind' | 'docker'>,
  progress: (message: string) => void,
  reuse?: { nodes: readonly string[]; loaded: LoadedImages },
): Promise<{ loaded: string[]; notLocal: string[] }> {
  const loaded: string[] = [];
  const notLocal: string[] = [];
  const ids = new Map<string, string>();
  for (const image of images) {
    const inspect = await tools.docker.run(['image', 'inspect', '--format', '{{.Id}}', image]);
    (inspect.exitCode === 0 ? loaded : notLocal).push(image);
    if (inspect.exitCode === 0) ids.set(image, inspect.stdout.trim());
  }
  const key = (node: string, image: string) => `${node}\u0000${image}`;
  const present = async (image: string): Promise<boolean> => {
    if (!reuse || reuse.nodes.length === 0) return false;
    const digests = await Promise.all(
      reuse.nodes.map(async (node) => {
        const was = reuse.loaded.get(key(node, image));
        if (!was || was.imageId !== ids.get(image)) return false;
        return (await nodeImageDigest(tools.docker, node, normalizeReference(image))) === was.digest;
      }),
    );
    return digests.every(Boolean);
  };
  const reused: string[] = [];
  const toLoad: string[] = [];
  for (const image of loaded) ((await present(image)) ? reused : toLoad).push(image);
  if (reused.length > 0) {
    progress(
      `reusing ${reused.length} image${reused.length === 1 ? '' : 's'} an earlier job loaded into this warm cluster (same image ID, same digest on every node)`,
    );
  }
  if (toLoad.length > 0) {
    progress(`loading ${toLoad.length} image${toLoad.length === 1 ? '' : 's'} into the cluster`);
    const load = await tools.kind.run(['load', 'docker-image', ...toLoad, '--name', name], { timeoutMs: 600_000 });
    if (load.exitCode !== 0) {
      throw unavailable(
        `kind load docker-image failed: ${firstLine(load.stderr)}`,
        'The images could not be copied into the cluster; this is not your fault. Try again, or report it.',
      );
    }
    if (reuse) {
      for (const image of toLoad)
        for (const node of reuse.nodes) {
          const digest = await nodeImageDigest(tools.docker, node, normalizeReference(image));
          if (digest) reuse.loaded.set(key(node, image), { imageId: ids.get(image)!, digest });
          else reuse.loaded.delete(key(node, image));
        }
    }
  }
  return { loaded, notLocal };
}

/**
 * Deletes a kind cluster and proves it gone (no container labelled with its
 * name is left). Never throws and never uses a job's AbortSignal: it runs
 * after a time-out or a Ctrl-C too.
 */
export async function deleteKindCluster(options: {
  name: string;
  kubeconfig: string;
  tools: KindTools;
  logger: Logger;
  now: () => number;
}): Promise<{ ok: boolean; detail: string }> {
  const { name, kubeconfig, logger } = options;
  const { kind, docker } = options.tools;
  const t0 = options.now();
  try {
    // Every step runs whatever the one before did: a Ctrl-C that a terminal sends to the whole process group
    // kills the cleanup's own commands too (the runner then throws), and the cluster must still go.
    const step = async (args: string[], tool: Tool, timeoutMs: number): Promise<CommandResult | undefined> => {
      try {
        return await tool.run(args, { signal: null, timeoutMs });
      } catch (err) {
        logger.warn('a cleanup command failed', { cluster: name, command: args.join(' '), error: String(err) });
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
      logger.warn('kind delete cluster left containers behind; removed them', { cluster: name, containers: ids });
      left = await step(listArgs, docker, 60_000);
    }
    const remaining = left ? left.stdout.split(/\s+/).filter(Boolean) : undefined;
    const seconds = ((options.now() - t0) / 1000).toFixed(1);
    // Gone is what counts: no container of the cluster is left, whatever kind delete said.
    const ok = left?.exitCode === 0 && remaining?.length === 0;
    if (!ok) logger.error('kind delete cluster failed', { cluster: name, stderr: firstLine(deleted?.stderr ?? '') });
    return {
      ok,
      detail: ok
        ? `deleted kind cluster ${name} in ${seconds} s${ids.length ? ` (and ${ids.length} leftover container${ids.length === 1 ? '' : 's'})` : ''}`
        : `kind delete cluster --name ${name} failed: ${firstLine(deleted?.stderr || left?.stderr || 'interrupted')}${remaining?.length ? `; containers left: ${remaining.join(' ')}` : ''}`,
    };
  } catch (err) {
    logger.error('deleting the kind cluster failed', { cluster: name, error: String(err) });
    return { ok: false, detail: `deleting kind cluster ${name} failed: ${String(err)}` };
  }
}
