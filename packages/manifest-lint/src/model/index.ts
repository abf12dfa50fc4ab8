/**
 * Lookups across all objects of a submission, built once per lint run.
 * Everything cross-object goes through indexes (by kind and name, by label,
 * by autoscaling target), so a 10,000-object corpus stays linear instead of
 * comparing every Service with every Deployment.
 */
import { asRecord, asString, isRecord, type KubeObject } from './object.js';
import {
  ALL_NAMESPACES,
  inScope,
  mapSelector,
  mayShareNamespace,
  sameNamespace,
  selectorMatches,
  type LabelSelector,
  type NamespaceScope,
} from './selectors.js';
import { statefulFacts, type StatefulFacts } from './stateful.js';
import { isHelmHook, REPLICATED_KINDS, toWorkload, type Workload } from './workloads.js';

/** How many replicas a workload runs, as a message can say it truthfully. */
export interface ReplicaSummary {
  /** The fewest replicas it runs: the HPA's minReplicas when autoscaled, else spec.replicas (unset: 1). */
  min: number;
  /** The autoscaler's maxReplicas, when autoscaled. */
  max?: number;
  hpa?: KubeObject;
  /** `spec.replicas` as written (undefined when unset). */
  specReplicas?: unknown;
  /** "runs 3 replicas", "runs 1 replica (replicas is not set)", "runs 2 to 10 replicas (autoscaled by HorizontalPodAutoscaler api)". */
  text: string;
}

export class ObjectIndex {
  /** The workloads of the running application: every rule about what runs reads these (Helm hooks are not among them). */
  readonly workloads: Workload[];
  /** Every workload, Helm hooks included: for what is committed whether or not it runs (a literal password). */
  readonly allWorkloads: Workload[];
  private readonly byKind = new Map<string, KubeObject[]>();
  private readonly byKindName = new Map<string, KubeObject[]>();
  /** Workloads by each `key=value` pod label. */
  private readonly byLabel = new Map<string, Workload[]>();
  private readonly hpasByTarget = new Map<string, KubeObject[]>();
  private readonly selections = new Map<string, Workload[]>();
  private readonly workloadOf = new Map<KubeObject, Workload>();
  private readonly statefulOf = new Map<Workload, StatefulFacts>();

  constructor(readonly objects: readonly KubeObject[]) {
    for (const object of objects) {
      push(this.byKind, object.kind, object);
      push(this.byKindName, `${object.kind}\u0000${object.name}`, object);
    }
    this.allWorkloads = objects.map(toWorkload).filter((w): w is Workload => w !== undefined);
    this.workloads = this.allWorkloads.filter((w) => !isHelmHook(w.object));
    for (const workload of this.workloads) {
      this.workloadOf.set(workload.object, workload);
      for (const [k, v] of Object.entries(workload.labels)) push(this.byLabel, `${k}\u0000${v}`, workload);
    }
    for (const hpa of this.byKind.get('HorizontalPodAutoscaler') ?? []) {
      const target = asRecord(hpa.get(['spec', 'scaleTargetRef']));
      push(this.hpasByTarget, `${String(target.kind)}\u0000${String(target.name)}`, hpa);
    }
  }

  ofKind(...kinds: string[]): KubeObject[] {
    return kinds.flatMap((kind) => this.byKind.get(kind) ?? []);
  }

  /**
   * Services that route to pods: they have a non-empty selector and are not
   * ExternalName. (A Service without a selector has manually managed endpoints.)
   */
  selectingServices(): { service: KubeObject; spec: Record<string, unknown>; selector: LabelSelector }[] {
    return this.ofKind('Service').flatMap((service) => {
      const spec = service.get(['spec']);
      if (!isRecord(spec) || spec.type === 'ExternalName' || !isRecord(spec.selector)) return [];
      if (Object.keys(spec.selector).length === 0) return [];
      return [{ service, spec, selector: mapSelector(spec.selector) }];
    });
  }

  /** Objects of a kind with this name in a compatible namespace (a reference by name: see mayShareNamespace). */
  find(kind: string, name: string, namespace: string | undefined): KubeObject[] {
    return (this.byKindName.get(`${kind}\u0000${name}`) ?? []).filter((o) => mayShareNamespace(o.namespace, namespace));
  }

  /** The workload of this kind and name in a compatible namespace. */
  workload(kind: string, name: string, namespace: string | undefined): Workload | undefined {
    for (const object of this.find(kind, name, namespace)) {
      const workload = this.workloadOf.get(object);
      if (workload) return workload;
    }
    return undefined;
  }

  /**
   * Workloads of the namespace whose pod template labels the selector matches
   * (any kind, jobs included; not Helm hooks). Memoized.
   */
  podsSelectedBy(selector: LabelSelector, namespace: NamespaceScope): Workload[] {
    const key = `${String(namespace ?? '')}\u0001${JSON.stringify(selector)}`;
    let found = this.selections.get(key);
    if (!found) {
      // Narrow with the rarest matchLabels pair; an empty matchLabels means every workload.
      let candidates: readonly Workload[] = this.workloads;
      for (const [k, v] of Object.entries(selector.matchLabels)) {
        const list = this.byLabel.get(`${k}\u0000${v}`) ?? [];
        if (list.length < candidates.length) candidates = list;
      }
      found = candidates.filter((w) => inScope(w.object.namespace, namespace) && selectorMatches(selector, w.labels));
      this.selections.set(key, found);
    }
    return found;
  }

  /** Workloads of other namespaces the selector matches (why a selector that matches nothing here looks right). */
  podsSelectedElsewhere(selector: LabelSelector, namespace: string | undefined): Workload[] {
    return this.podsSelectedBy(selector, ALL_NAMESPACES).filter((w) => !sameNamespace(w.object.namespace, namespace));
  }

  /** Long-running workloads (not Jobs or CronJobs) the selector matches. */
  workloadsSelectedBy(selector: LabelSelector, namespace: NamespaceScope): Workload[] {
    return this.podsSelectedBy(selector, namespace).filter((w) => w.kind !== 'CronJob' && w.kind !== 'Job');
  }

  /** HorizontalPodAutoscalers targeting a workload. */
  autoscalersOf(workload: Workload): KubeObject[] {
    return (this.hpasByTarget.get(`${workload.kind}\u0000${workload.object.name}`) ?? []).filter(
      (hpa) =>
        asString(asRecord(hpa.get(['spec', 'scaleTargetRef'])).name) === workload.object.name &&
        mayShareNamespace(hpa.namespace, workload.object.namespace),
    );
  }

  /** Replicas a workload runs with at least: the HPA's minReplicas when autoscaled, else spec.replicas. */
  minimumReplicas(workload: Workload): number | undefined {
    const hpa = this.autoscalersOf(workload)[0];
    if (hpa) {
      const min = hpa.get(['spec', 'minReplicas']);
      return typeof min === 'number' ? min : 1;
    }
    return workload.replicas;
  }

  /** The replica count of a replicated workload, with words a message can use. */
  replicaSummary(workload: Workload): ReplicaSummary {
    const hpa = this.autoscalersOf(workload)[0];
    const specReplicas = workload.object.get(['spec', 'replicas']);
    const plural = (n: number) => `${n} replica${n === 1 ? '' : 's'}`;
    if (hpa) {
      const min = this.minimumReplicas(workload) ?? 1;
      const rawMax = hpa.get(['spec', 'maxReplicas']);
      const max = typeof rawMax === 'number' ? rawMax : undefined;
      const range =
        max === undefined ? `at least ${plural(min)}` : max === min ? plural(min) : `${min} to ${max} replicas`;
      return {
        min,
        ...(max !== undefined ? { max } : {}),
        hpa,
        specReplicas,
        text: `runs ${range} (autoscaled by ${hpa.ref})`,
      };
    }
    const min = workload.replicas ?? 1;
    const unset = specReplicas === undefined || specReplicas === null;
    return {
      min,
      specReplicas,
      text: `runs ${plural(min)}${unset && REPLICATED_KINDS.has(workload.kind) ? ' (replicas is not set)' : ''}`,
    };
  }

  /** Whether the workload holds state (data-store image, single-attach claim, volumeClaimTemplates). Memoized. */
  stateful(workload: Workload): StatefulFacts {
    let facts = this.statefulOf.get(workload);
    if (!facts) {
      facts = statefulFacts(workload, (name, namespace) => this.find('PersistentVolumeClaim', name, namespace)[0]);
      this.statefulOf.set(workload, facts);
    }
    return facts;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
