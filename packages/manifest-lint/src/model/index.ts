/** Lookups across all objects of a submission, built once per lint run. */
import { asRecord, asString, type KubeObject } from './object.js';
import { sameNamespace, selectorMatches, type LabelSelector } from './selectors.js';
import { toWorkload, type Workload } from './workloads.js';

export class ObjectIndex {
  readonly workloads: Workload[];
  private readonly byKind = new Map<string, KubeObject[]>();

  constructor(readonly objects: readonly KubeObject[]) {
    for (const object of objects) {
      const list = this.byKind.get(object.kind);
      if (list) list.push(object);
      else this.byKind.set(object.kind, [object]);
    }
    this.workloads = objects.map(toWorkload).filter((w): w is Workload => w !== undefined);
  }

  ofKind(...kinds: string[]): KubeObject[] {
    return kinds.flatMap((kind) => this.byKind.get(kind) ?? []);
  }

  /** Objects of a kind with this name in a compatible namespace. */
  find(kind: string, name: string, namespace: string | undefined): KubeObject[] {
    return (this.byKind.get(kind) ?? []).filter((o) => o.name === name && sameNamespace(o.namespace, namespace));
  }

  /** Workloads whose pod template labels the selector matches. */
  workloadsSelectedBy(selector: LabelSelector, namespace: string | undefined): Workload[] {
    return this.workloads.filter(
      (w) =>
        w.kind !== 'CronJob' &&
        w.kind !== 'Job' &&
        sameNamespace(w.object.namespace, namespace) &&
        selectorMatches(selector, w.labels),
    );
  }

  /** HorizontalPodAutoscalers targeting a workload. */
  autoscalersOf(workload: Workload): KubeObject[] {
    return this.ofKind('HorizontalPodAutoscaler').filter((hpa) => {
      const target = asRecord(hpa.get(['spec', 'scaleTargetRef']));
      return (
        target.kind === workload.kind &&
        asString(target.name) === workload.object.name &&
        sameNamespace(hpa.namespace, workload.object.namespace)
      );
    });
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

  /** Workloads (any kind) whose pods the selector matches, jobs included. */
  podsSelectedBy(selector: LabelSelector, namespace: string | undefined): Workload[] {
    return this.workloads.filter(
      (w) => sameNamespace(w.object.namespace, namespace) && selectorMatches(selector, w.labels),
    );
  }
}
