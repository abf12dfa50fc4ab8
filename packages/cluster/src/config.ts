/**
 * The effective configuration of one cluster-stage run: the rubric's settings
 * with the grading machine's environment applied. The environment describes
 * the machine (which binaries, which node image), so it wins over the rubric.
 *
 *   LABGRADER_KIND                        kind binary
 *   LABGRADER_KUBECTL                     kubectl binary
 *   LABGRADER_DOCKER                      docker binary
 *   LABGRADER_KIND_NODE_IMAGE             kind node image
 *   LABGRADER_KIND_DISABLE_DEFAULT_CNI    1/true: the node image brings its own CNI
 *   LABGRADER_KEEP_CLUSTER                1/true: keep the cluster when grading failed
 *   LABGRADER_KIND_INTERNAL_KUBECONFIG    1/true: reach kind's API servers over its Docker network
 *                                         (a grader in a container; kind-kubeconfig.ts)
 *   KUBECONFIG                            existing target: kubeconfig, when the rubric names none
 */
import type { ClusterSettings, ExistingTargetSettings, KindTargetSettings } from './settings.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface KindTarget extends Omit<KindTargetSettings, 'binary' | 'disableDefaultCNI'> {
  binary: string;
  disableDefaultCNI: boolean;
  /** Use `kind get kubeconfig --internal` (the grader runs in a container on kind's network). */
  internalKubeconfig?: boolean;
}

export interface ExistingTarget extends ExistingTargetSettings {
  /** KUBECONFIG to hand to kubectl (a path list), when set. */
  kubeconfigEnv?: string;
}

export interface ClusterConfig extends Omit<ClusterSettings, 'target' | 'kubectl' | 'docker' | 'scenarios'> {
  target: KindTarget | ExistingTarget;
  kubectl: string;
  docker: string;
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return /^(1|true|yes|on)$/i.test(value.trim());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() ? value.trim() : undefined;
}

export function resolveClusterConfig(settings: ClusterSettings, env: Env): ClusterConfig {
  const { target, kubectl, docker, scenarios, ...rest } = settings;
  const keep = flag(env.LABGRADER_KEEP_CLUSTER);
  let resolved: KindTarget | ExistingTarget;
  if (target.type === 'kind') {
    const nodeImage = nonEmpty(env.LABGRADER_KIND_NODE_IMAGE) ?? target.nodeImage;
    const { binary: _binary, disableDefaultCNI: _cni, nodeImage: _image, ...kind } = target;
    resolved = {
      ...kind,
      ...(nodeImage ? { nodeImage } : {}),
      binary: nonEmpty(env.LABGRADER_KIND) ?? target.binary ?? 'kind',
      disableDefaultCNI: flag(env.LABGRADER_KIND_DISABLE_DEFAULT_CNI) ?? target.disableDefaultCNI ?? false,
      keepOnFailure: keep ?? target.keepOnFailure,
      ...(flag(env.LABGRADER_KIND_INTERNAL_KUBECONFIG) ? { internalKubeconfig: true } : {}),
    };
  } else {
    const kubeconfigEnv = target.kubeconfig ? undefined : nonEmpty(env.KUBECONFIG);
    resolved = {
      ...target,
      keepOnFailure: keep ?? target.keepOnFailure,
      ...(kubeconfigEnv ? { kubeconfigEnv } : {}),
    };
  }
  return {
    ...rest,
    // `scenarios` is the former name of `drills`.
    drills: scenarios ?? rest.drills,
    target: resolved,
    kubectl: nonEmpty(env.LABGRADER_KUBECTL) ?? kubectl ?? 'kubectl',
    docker: nonEmpty(env.LABGRADER_DOCKER) ?? docker ?? 'docker',
  };
}
