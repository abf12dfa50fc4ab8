/**
 * Cluster stage settings: the rubric's `stages.cluster.settings`. Every field
 * has a default, so `{}` is a valid configuration (an ephemeral kind cluster
 * with kind's default node image).
 *
 * Machine facts (which kind, kubectl and docker binaries, which node image,
 * whether the node image brings its own CNI) can also come from the
 * environment of the grading machine; the environment wins over the rubric,
 * because one rubric is used on many machines. See `resolveClusterConfig`.
 */
import { z } from 'zod';
import { DRILL_IDS, drillSettingsSchema, type DrillId } from './drills/index.js';

/** A recovery-time band: recovering within `maxSeconds` earns `credit` (0–1) of the check. */
export const bandSchema = z.strictObject({
  maxSeconds: z.number().positive(),
  credit: z.number().min(0).max(1),
});
export type Band = z.infer<typeof bandSchema>;

/** Bands, fastest first: each slower band gives no more credit than a faster one. */
export function bandsSchema(defaults: Band[]) {
  return z
    .array(bandSchema)
    .min(1, 'give at least one band')
    .refine((bands) => bands.every((b, i) => i === 0 || b.maxSeconds > bands[i - 1]!.maxSeconds), {
      message: 'bands must be ordered by maxSeconds, fastest first, without repeats',
    })
    .refine((bands) => bands.every((b, i) => i === 0 || b.credit <= bands[i - 1]!.credit), {
      message: 'a slower band cannot give more credit than a faster one',
    })
    .default(defaults);
}

const binary = z.string().min(1);

export const kindTargetSchema = z.strictObject({
  type: z.literal('kind'),
  /** Node image (kindest/node:…); default: LABGRADER_KIND_NODE_IMAGE, else kind's own default. */
  nodeImage: z.string().min(1).optional(),
  /** kind binary; default: LABGRADER_KIND, else `kind` on PATH. */
  binary: binary.optional(),
  /** Cluster names are `<prefix>-<random>`; kind clusters of every job are told apart by it. */
  clusterNamePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, 'lower-case letters, digits and dashes, at most 20, starting with a letter')
    .default('labgrader'),
  /**
   * Do not install kind's default CNI (kindnet): for node images that bring
   * their own CNI configuration. Default: LABGRADER_KIND_DISABLE_DEFAULT_CNI, else false.
   */
  disableDefaultCNI: z.boolean().optional(),
  /**
   * Worker nodes besides the control plane. 0: one node runs everything.
   * The node drills (node drain, node failure) need at least 2 workers, so
   * the pods have somewhere to go.
   */
  workers: z.number().int().min(0).max(4).default(0),
  /** `kind create cluster` time limit (it waits for the control plane). */
  createTimeoutSeconds: z.number().positive().max(1800).default(300),
  /** Keep the cluster when grading failed, to debug it (`kind delete cluster --name …` afterwards). */
  keepOnFailure: z.boolean().default(false),
});

export const existingTargetSchema = z.strictObject({
  type: z.literal('existing'),
  /** kubeconfig file; default: KUBECONFIG, else kubectl's default. */
  kubeconfig: z.string().min(1).optional(),
  /** kubeconfig context; default: the current context. */
  context: z.string().min(1).optional(),
  /** Each job's namespaces are `<prefix>-<job>-<namespace in the manifests>`. */
  namespacePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,9}$/, 'lower-case letters, digits and dashes, at most 10, starting with a letter')
    .default('lg'),
  /**
   * How labgrader can reach the nodes: `none` (probe the Service through the
   * API server's proxy; the container-kill drill cannot run), or `docker` (the
   * nodes are Docker containers named after the nodes, as in a kind cluster:
   * probe from a node, kill containers with ctr).
   */
  nodeAccess: z.enum(['none', 'docker']).default('none'),
  keepOnFailure: z.boolean().default(false),
});

const quantity = z
  .string()
  .regex(/^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, 'a Kubernetes quantity such as 500m, 2 or 512Mi');

export const isolationSettingsSchema = z.strictObject({
  /**
   * ClusterRoles of the cluster that a lab's RoleBindings may reference
   * (they grant that role in the lab's own namespaces only). Any other
   * ClusterRole the lab does not define itself is refused.
   */
  allowedClusterRoles: z.array(z.string().min(1)).default(['view']),
  /** NodePort and LoadBalancer Services: served as ClusterIP (`convert`, with a note) or not applied (`refuse`). */
  exposedServices: z.enum(['convert', 'refuse']).default('convert'),
  /** PriorityClasses a lab's pods may name (others are removed from the pod template, with a note). */
  allowedPriorityClasses: z.array(z.string().min(1)).default([]),
  /** RuntimeClasses a lab's pods may name (others are removed from the pod template, with a note). */
  allowedRuntimeClasses: z.array(z.string().min(1)).default([]),
  /** At most this many namespaces per job (each gets the quota below). */
  maxNamespaces: z.number().int().min(1).max(20).default(5),
  /** The ResourceQuota of each job namespace. */
  quota: z
    .strictObject({
      requestsCpu: quantity.default('4'),
      requestsMemory: quantity.default('8Gi'),
      limitsCpu: quantity.default('8'),
      limitsMemory: quantity.default('16Gi'),
      pods: z.number().int().min(1).max(500).default(30),
      services: z.number().int().min(1).max(200).default(10),
      persistentVolumeClaims: z.number().int().min(0).max(100).default(5),
      requestsStorage: quantity.default('10Gi'),
      configMaps: z.number().int().min(1).max(500).default(50),
      secrets: z.number().int().min(1).max(500).default(50),
    })
    .prefault({}),
  /** The LimitRange of each job namespace: defaults for containers without resources, and a per-container maximum. */
  limits: z
    .strictObject({
      defaultCpu: quantity.default('500m'),
      defaultMemory: quantity.default('512Mi'),
      defaultRequestCpu: quantity.default('50m'),
      defaultRequestMemory: quantity.default('64Mi'),
      maxCpu: quantity.default('2'),
      maxMemory: quantity.default('4Gi'),
    })
    .prefault({}),
  /**
   * kind clusters: packet filter rules in the node that keep the lab's pods
   * from reaching anything outside the cluster (the grading host, other kind
   * clusters, 169.254.169.254, the internet) and the node's own ports other
   * than the API server. Enforced whatever the CNI does with NetworkPolicy.
   */
  nodeEgressGuard: z.boolean().default(true),
});
export type IsolationSettings = z.infer<typeof isolationSettingsSchema>;

const targetSchema = z.discriminatedUnion('type', [kindTargetSchema, existingTargetSchema]);

export const clusterSettingsSchema = z.strictObject({
  /** Where to deploy: an ephemeral kind cluster per job (default), or namespaces in an existing cluster. */
  target: targetSchema.prefault({ type: 'kind' }),
  /** kubectl binary; default: LABGRADER_KUBECTL, else `kubectl` on PATH. */
  kubectl: binary.optional(),
  /** docker binary; default: LABGRADER_DOCKER, else `docker` on PATH. */
  docker: binary.optional(),
  /** Which manifests are deployed: the same discovery as the lint stage (set the same values as there). */
  manifests: z
    .strictObject({
      include: z.array(z.string()).optional(),
      exclude: z.array(z.string()).optional(),
      extraExclude: z.array(z.string()).default([]),
      /** Kustomization directories to deploy; empty: every top-level kustomization. */
      kustomizations: z.array(z.string()).default([]),
    })
    .prefault({}),
  /**
   * The Pod Security level enforced, at least, on every namespace the job
   * creates (a lab namespace that asks for a stricter one keeps it). The
   * lab's code is untrusted and kind nodes are privileged containers on the
   * grading machine: `baseline` refuses privileged pods, host namespaces and
   * hostPath volumes. Labs that need them: `privileged`.
   */
  podSecurity: z.enum(['privileged', 'baseline', 'restricted']).default('baseline'),
  /**
   * What a lab may do to the cluster it is graded in. The lab is untrusted:
   * only namespaced objects are applied (cluster-scoped ones are refused, or
   * converted where that keeps their meaning), every job namespace gets a
   * default-deny egress NetworkPolicy, a ResourceQuota and a LimitRange, and
   * objects are applied as a least-privilege identity. See docs/security.md.
   */
  isolation: isolationSettingsSchema.prefault({}),
  /** How long workloads have to become Ready after `kubectl apply`. */
  readyTimeoutSeconds: z.number().positive().max(1800).default(180),
  images: z
    .strictObject({
      /**
       * Load the images the manifests use into the kind cluster from the local
       * Docker daemon, when the daemon has them. labgrader never pulls an image;
       * images that are not local are left to the node (which pulls them if it can).
       */
      loadLocal: z.boolean().default(true),
      /**
       * Build the images the manifests name that the local Docker daemon does
       * not have, from the repository's Dockerfile (images.ts: which Dockerfile
       * builds which image), and load them into the kind cluster under the
       * manifest's name. kind targets only (an existing cluster's nodes pull).
       * A build that fails makes the submission not gradable, never a zero.
       */
      buildMissing: z.boolean().default(true),
      /** Explicit builds: `{ image, context, dockerfile }`, paths relative to the repository root. */
      build: z
        .array(
          z.strictObject({
            /** Exactly as the manifests name it. */
            image: z.string().min(1),
            /** Build context directory; default: the Dockerfile's directory, else the repository root. */
            context: z.string().min(1).optional(),
            /** Default: `<context>/Dockerfile`. */
            dockerfile: z.string().min(1).optional(),
          }),
        )
        .default([]),
      /** One build's time limit (the build is killed, and the submission is not gradable). */
      buildTimeoutSeconds: z.number().positive().max(1800).default(180),
      /** Largest image a build may produce. */
      maxImageSizeMiB: z.number().positive().max(20_480).default(1024),
      /**
       * The network of the build's RUN steps: `none` (default: a student's
       * Dockerfile is hostile code running on the grading host), or `default`
       * (the engine's bridge network: downloads work, so does exfiltration).
       * Base images (`FROM`) are what the Docker engine has or can pull either way.
       */
      buildNetwork: z.enum(['none', 'default']).default('none'),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      /**
       * Create the Secrets the workloads reference but the repository does not
       * define (the lab tells students to create them out of band), with random
       * values, so the lab can start. Values are never logged or reported.
       */
      synthesize: z.boolean().default(true),
      /** Secret names never synthesized. */
      exclude: z.array(z.string()).default([]),
    })
    .prefault({}),
  /** The workload the drills break (`Deployment lab85/web`, `lab85/web` or `web`); default: the Deployment a Service selects, most replicas first. */
  workload: z.string().min(1).optional(),
  /** The Service probed during the drills (`lab85/web` or `web`); default: the one selecting the workload. */
  service: z.string().min(1).optional(),
  probe: z
    .strictObject({
      /** HTTP path requested through the Service. */
      path: z.string().startsWith('/').default('/'),
      /** Pause between two requests. */
      intervalMs: z.number().int().min(50).max(10_000).default(250),
      /** One request's time limit. */
      requestTimeoutMs: z.number().int().min(100).max(30_000).default(2_000),
      /** How long the Service has, after the workloads are Ready, to answer a first time. */
      answerTimeoutSeconds: z.number().positive().max(600).default(60),
    })
    .prefault({}),
  /**
   * After every workload is Ready, the stage keeps watching them, through the
   * drills, until their liveness probes have acted (steady.ts): with
   * `until: liveness-answered`, until the kubelet counted a successful answer
   * of every liveness probe (without its counters: the time each needs to
   * run once, initialDelaySeconds + periodSeconds + timeoutSeconds, plus
   * `marginSeconds`); once one fails, or always with `until: restart-window`,
   * as long as the slowest needs to get a container restarted
   * (initialDelaySeconds + periodSeconds × failureThreshold + timeoutSeconds)
   * plus `marginSeconds`; never longer than `maxSeconds`. Restarts no drill
   * caused are findings, and make the drills' measurements meaningless.
   */
  steadyState: z
    .strictObject({
      until: z.enum(['liveness-answered', 'restart-window']).default('liveness-answered'),
      marginSeconds: z.number().min(0).max(300).default(5),
      maxSeconds: z.number().min(0).max(1200).default(120),
    })
    .prefault({}),
  /** Polling interval while waiting for Ready pods and recoveries (the measurement's resolution). */
  pollIntervalMs: z.number().int().min(100).max(10_000).default(500),
  /**
   * The drills (drills/<id>/): when each runs (`run: auto` runs those a
   * configured check grades) and its own settings. `scenarios` is the former
   * name of this block, still accepted.
   */
  drills: drillSettingsSchema.prefault({}),
  scenarios: drillSettingsSchema.optional(),
});

export type ClusterSettings = z.infer<typeof clusterSettingsSchema>;
export type KindTargetSettings = z.infer<typeof kindTargetSchema>;
export type ExistingTargetSettings = z.infer<typeof existingTargetSchema>;

export function defaultClusterSettings(): ClusterSettings {
  return clusterSettingsSchema.parse({});
}

/** Drill ids, in the order the stage runs them. */
export const SCENARIOS = DRILL_IDS;
export type ScenarioName = DrillId;
