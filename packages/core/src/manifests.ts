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

export interface ManifestInventory {
  objects: readonly KubeObjectRef[];
  /** Files that contained at least one Kubernetes object. */
  files: readonly string[];
}

export const emptyInventory: ManifestInventory = { objects: [], files: [] };
