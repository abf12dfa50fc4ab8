/**
 * The shared, stage-independent view of a submission's Kubernetes objects.
 * The lint stage produces it; the docs stage (consistency with the notes) and
 * the cluster stage (what to deploy, what to break) consume it.
 */
import type { SourceLocation } from './findings.js';

export interface KubeObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** As written in the manifest; undefined when the object is cluster-scoped or relies on the default namespace. */
  namespace?: string;
  /** Where the object starts (its document) in the repository. */
  location: SourceLocation;
  /** True when the object came out of a renderer (kustomize, helm) rather than a literal file. */
  rendered?: boolean;
}

/**
 * An object that a manifest refers to by name without defining it, e.g. a
 * Secret in a `secretKeyRef` that is created out of band (`kubectl create
 * secret`), or a ServiceAccount used by a workload.
 */
export interface KubeReference {
  kind: string;
  name: string;
  namespace?: string;
  /** Where the reference is (the `name:` value). */
  location: SourceLocation;
  /** True when the manifests also define it. */
  defined: boolean;
  /** The key read from it (`secretKeyRef.key`, `configMapKeyRef.key`), when one is named. */
  key?: string;
  /** `optional: true` on the reference: the pod starts without it. */
  optional?: boolean;
  /** Who refers to it, e.g. `Deployment lab85/web container web`. */
  from: string;
}

export interface ManifestInventory {
  objects: readonly KubeObjectRef[];
  /** Objects referenced by name from workloads (Secrets, ConfigMaps, ServiceAccounts, PVCs…). */
  references?: readonly KubeReference[];
  /** Files that contained at least one Kubernetes object. */
  files: readonly string[];
}

export const emptyInventory: ManifestInventory = { objects: [], files: [] };
