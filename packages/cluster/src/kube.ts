/**
 * The few shapes of the Kubernetes API the stage reads (pods, workloads,
 * events), and helpers over them. Only the fields used are typed.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string }[];
}

export interface ContainerState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; message?: string; exitCode?: number };
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  containerID?: string;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Pod {
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: { name: string; image: string; ports?: ContainerPort[] }[] };
  status: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: PodCondition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface WorkloadStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  unavailableReplicas?: number;
  observedGeneration?: number;
  /** DaemonSets. */
  desiredNumberScheduled?: number;
  numberReady?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  /** StatefulSets. */
  currentRevision?: string;
  updateRevision?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export interface ClusterWorkload {
  kind: string;
  metadata: ObjectMeta;
  spec: { replicas?: number; template?: { spec?: { containers?: { name: string; image: string }[] } } };
  status?: WorkloadStatus;
}

export interface KubeEvent {
  metadata: ObjectMeta;
  /** `fieldPath` names the container (`spec.containers{web}`) of a kubelet's event about it. */
  involvedObject: { kind?: string; name?: string; namespace?: string; fieldPath?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
}

export interface List<T> {
  items: T[];
}

/** discovery.k8s.io/v1 EndpointSlice: the endpoints of a Service (`kubernetes.io/service-name` label). */
export interface EndpointSlice {
  metadata: ObjectMeta;
  /** null when the Service's targetPort names a port none of the selected pods declares. */
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string };
  }[];
}

/** The pod's condition of that type, if reported. */
export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return (pod.status.conditions ?? []).find((c) => c.type === type);
}

/** The container an event of the kubelet is about (`spec.containers{web}` → `web`). */
export function eventContainer(event: KubeEvent): string | undefined {
  return /\{([^}]+)\}/.exec(event.involvedObject.fieldPath ?? '')?.[1];
}

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/;
const FACTOR: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  m: 1e-3,
};

/** A memory quantity in bytes (`64Mi` → 67108864); undefined when it is not one. */
export function memoryBytes(quantity: unknown): number | undefined {
  const m = QUANTITY.exec(String(quantity ?? '').trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] ? FACTOR[m[2]]! : 1);
}

export function isTerminating(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

export function isPodReady(pod: Pod): boolean {
  return (
    !isTerminating(pod) &&
    pod.status.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Ready, not terminating pods. */
export function readyPods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isPodReady);
}

/** Desired replicas of a workload as the cluster sees it. */
export function desiredReplicas(workload: ClusterWorkload): number {
  if (workload.kind === 'DaemonSet') return workload.status?.desiredNumberScheduled ?? 0;
  return workload.spec.replicas ?? 1;
}

/** Whether a workload has finished rolling out with every replica Ready. */
export function workloadReady(workload: ClusterWorkload): boolean {
  const status = workload.status ?? {};
  const generation = workload.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) return false;
  if (workload.kind === 'DaemonSet') {
    const desired = status.desiredNumberScheduled ?? 0;
    return desired > 0 && (status.numberReady ?? 0) >= desired && (status.updatedNumberScheduled ?? 0) >= desired;
  }
  const desired = workload.spec.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  if (workload.kind === 'StatefulSet') {
    return ready >= desired && (status.updatedReplicas ?? 0) >= desired;
  }
  // Deployment (and ReplicaSet): updated, ready and available, with no old pods left.
  return (
    (status.updatedReplicas ?? 0) >= desired &&
    ready >= desired &&
    (status.availableReplicas ?? 0) >= desired &&
    (status.replicas ?? 0) <= desired
  );
}

/** Ready count of a workload. */
export function readyCount(workload: ClusterWorkload): number {
  const status = workload.status ?? {};
  return workload.kind === 'DaemonSet' ? (status.numberReady ?? 0) : (status.readyReplicas ?? 0);
}

export function eventTime(event: KubeEvent): number {
  const at = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  const t = at ? Date.parse(at) : NaN;
  return Number.isFinite(t) ? t : 0;
}

export function describeEvent(event: KubeEvent): string {
  const count = event.count && event.count > 1 ? ` (×${event.count})` : '';
  return `${event.involvedObject.kind ?? ''} ${event.involvedObject.name ?? ''}: ${event.reason ?? ''} ${(event.message ?? '').replace(/\s+/g, ' ').slice(0, 300)}${count}`.trim();
}

/** The container's waiting or terminated reason, whichever explains best why it is not running. */
export function containerTrouble(status: ContainerStatus): { reason: string; message: string } | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
    const last = status.lastState?.terminated;
    const message =
      waiting.message ??
      (last
        ? `last exit: ${last.reason ?? 'terminated'}${last.exitCode !== undefined ? ` (exit code ${last.exitCode})` : ''}`
        : '');
    return { reason: waiting.reason, message };
  }
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  if (terminated && terminated.reason === 'OOMKilled')
    return { reason: 'OOMKilled', message: terminated.message ?? '' };
  return undefined;
}
