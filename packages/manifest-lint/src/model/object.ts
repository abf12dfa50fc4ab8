/**
 * A Kubernetes object found in a submission, with the means to place any of
 * its fields on a line of a repository file, including for objects rendered
 * by kustomize or helm (mapped back to the files they came from).
 */
import type { KubeObjectRef, SourceLocation } from '@labgrader/core';
import type { Path, PathSegment } from '../yaml/parse.js';
import type { DocumentSource, NodeHit } from '../yaml/source.js';

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Json {
  return isRecord(value) ? value : {};
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Value at a path in a plain value. */
export function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isRecord(current)) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

/** A place that may hold (part of) an object's text. */
export interface ObjectSource {
  doc: DocumentSource;
  /** Path of the object inside the document (e.g. `['items', 2]` inside a List). */
  basePath: Path;
  /** The object's value as written in this source (a base resource or a patch). */
  value: unknown;
  /** Patches only hold the fields they change. */
  role: 'object' | 'patch';
}

export interface ObjectOrigin {
  /** Most specific first: patches, then the base resource. */
  sources: ObjectSource[];
  /** Where to point when no source holds the field (generated objects, transformer changes). */
  fallback: SourceLocation;
  /** Locations of transformer fields (e.g. kustomization `images:`), by the last path segment they change. */
  transformerFields?: ReadonlyMap<string, SourceLocation>;
  /** For objects whose source is not YAML (Helm templates): places a field by other means. */
  locator?: (path: Path) => SourceLocation;
  renderedBy?: 'kustomize' | 'helm';
  /** The kustomization directory or chart that rendered it. */
  renderedFrom?: string;
  /**
   * The build it is part of, when not the repository's plain manifests: the
   * rendered kustomization or chart, the kustomization tree whose resources
   * were linted as written, a file of committed `helm template` output.
   * Objects of different builds are deployed separately (an overlay each).
   */
  build?: string;
}

export class KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;

  constructor(
    readonly value: Json,
    readonly origin: ObjectOrigin,
  ) {
    this.apiVersion = String(value.apiVersion);
    this.kind = String(value.kind);
    const metadata = asRecord(value.metadata);
    this.name = asString(metadata.name) ?? asString(metadata.generateName) ?? '<unnamed>';
    this.namespace = asString(metadata.namespace);
  }

  /** `Deployment lab85/web` or `Deployment web` (computed once: rules use it as a subject many times). */
  get ref(): string {
    return (this.cachedRef ??= `${this.kind} ${this.namespace ? `${this.namespace}/` : ''}${this.name}`);
  }
  private cachedRef: string | undefined;

  get file(): string {
    return this.origin.sources[this.origin.sources.length - 1]?.doc.file ?? this.origin.fallback.file;
  }

  get labels(): Record<string, unknown> {
    return asRecord(asRecord(this.value.metadata).labels);
  }

  get annotations(): Record<string, unknown> {
    return asRecord(asRecord(this.value.metadata).annotations);
  }

  get(path: Path): unknown {
    return valueAt(this.value, path);
  }

  /** Where the object starts. */
  startLocation(): SourceLocation {
    const base = this.origin.sources.find((s) => s.role === 'object') ?? this.origin.sources[0];
    if (!base) return this.origin.fallback;
    if (base.basePath.length === 0) return base.doc.startLocation();
    return base.doc.locationOf(base.doc.walk(base.basePath), 'value');
  }

  /**
   * The line and column of a field. `mode: 'key'` points at `key:` (for
   * "this field is wrong/unknown"), `'value'` at the value. When the field is
   * absent everywhere, the deepest existing ancestor's key is returned, so a
   * missing field points at the object that should have it.
   */
  locate(path: Path, mode: 'key' | 'value' = 'value'): SourceLocation {
    const { sources } = this.origin;
    if (sources.length === 0 && this.origin.locator) return this.origin.locator(path);
    const rendered = this.origin.renderedBy !== undefined;
    const renderedValue = valueAt(this.value, path);
    let deepest: { source: ObjectSource; hit: NodeHit } | undefined;
    for (const source of sources) {
      const full = [...source.basePath, ...path];
      const hit = source.doc.walk(
        full,
        rendered ? (depth, seq) => this.translate(source, path, depth, seq) : undefined,
      );
      if (hit.depth === full.length) {
        const scalar = hit.value === null || typeof hit.value !== 'object';
        if (!rendered || !scalar || sameScalar(hit.value, renderedValue)) {
          return source.doc.locationOf(hit, mode);
        }
        // The source says something else: a transformer changed it.
        const transformer = this.transformerLocation(path);
        if (transformer) return transformer;
        if (source.role === 'patch') continue;
        return source.doc.locationOf(hit, mode);
      }
      if (source.role === 'object' && (!deepest || hit.depth > deepest.hit.depth)) deepest = { source, hit };
    }
    if (rendered) {
      const transformer = this.transformerLocation(path);
      if (transformer) return transformer;
    }
    if (deepest && deepest.hit.depth > deepest.source.basePath.length) {
      // Point at the ancestor's key when there is one (e.g. `resources:`), else at its first line.
      const hit = deepest.hit;
      if (hit.key) return deepest.source.doc.locationOf(hit, 'key');
      return deepest.source.doc.firstKeyLocation(hit) ?? deepest.source.doc.locationOf(hit, 'value');
    }
    if (deepest) return this.startLocation();
    return this.origin.fallback;
  }

  /**
   * The exact place of `needle` inside a field's value (a line of a block
   * scalar, a password inside a URL); the field's value when not found.
   */
  locateText(path: Path, needle: string): SourceLocation {
    for (const source of this.origin.sources) {
      const full = [...source.basePath, ...path];
      const rendered = this.origin.renderedBy !== undefined;
      const hit = source.doc.walk(
        full,
        rendered ? (depth, seq) => this.translate(source, path, depth, seq) : undefined,
      );
      if (hit.depth === full.length) {
        const found = source.doc.locateNeedle(hit, needle);
        if (found) return found;
      }
    }
    return this.locate(path);
  }

  private transformerLocation(path: Path): SourceLocation | undefined {
    const fields = this.origin.transformerFields;
    if (!fields) return undefined;
    for (let i = path.length - 1; i >= 0; i--) {
      const found = fields.get(String(path[i]));
      if (found) return found;
    }
    // Inline patches may have changed any field of an object that has a source.
    return this.origin.sources.length > 0 ? fields.get('*') : undefined;
  }

  /** Maps an array index of the rendered object to the index of the same item in a source. */
  private translate(source: ObjectSource, path: Path, depth: number, seq: readonly unknown[]): number | undefined {
    const k = depth - source.basePath.length;
    const index = path[k];
    if (typeof index !== 'number') return undefined;
    const renderedArray = valueAt(this.value, path.slice(0, k));
    const item: unknown = Array.isArray(renderedArray) ? renderedArray[index] : undefined;
    const sourceArray = valueAt(source.value, path.slice(0, k));
    if (isRecord(item) && Array.isArray(sourceArray)) {
      for (const key of ['name', 'containerPort', 'port', 'mountPath', 'ip'] as const) {
        if (item[key] === undefined) continue;
        const found = sourceArray.findIndex((candidate) => isRecord(candidate) && candidate[key] === item[key]);
        return found >= 0 && found < seq.length ? found : undefined;
      }
    }
    if (Array.isArray(sourceArray) && Array.isArray(renderedArray) && sourceArray.length === renderedArray.length)
      return index;
    return undefined;
  }

  toRef(): KubeObjectRef {
    const ref: KubeObjectRef = {
      apiVersion: this.apiVersion,
      kind: this.kind,
      name: this.name,
      location: this.startLocation(),
    };
    if (this.namespace !== undefined) ref.namespace = this.namespace;
    if (this.origin.renderedBy) ref.rendered = true;
    return ref;
  }
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || String(a) === String(b);
}

export function pathKey(path: readonly PathSegment[]): string {
  return path.join('.');
}
