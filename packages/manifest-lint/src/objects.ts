/** Turning parsed documents into Kubernetes objects. */
import type { SourceLocation } from '@labgrader/core';
import type { LoadedFile } from './files.js';
import { KubeObject, asArray, isRecord, type Json, type ObjectOrigin, type ObjectSource } from './model/object.js';
import { groupOf } from './schema/kubernetes.js';
import type { DocumentSource } from './yaml/source.js';

/** A document's value as a candidate object: `kind` present (apiVersion may be missing, schema-valid says so). */
export function looksLikeObject(value: unknown): value is Json & { kind: string } {
  return (
    isRecord(value) &&
    typeof value.kind === 'string' &&
    (typeof value.apiVersion === 'string' || isRecord(value.metadata))
  );
}

export function isIgnoredConfig(value: Json, ignoreGroups: readonly string[]): boolean {
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
  const group = groupOf(apiVersion);
  if (ignoreGroups.some((g) => group === g || group.endsWith(`.${g}`) || apiVersion.startsWith(`${g}/`))) return true;
  // A kubeconfig (`kind: Config`) is client configuration, not an API object.
  return apiVersion === 'v1' && value.kind === 'Config';
}

/** Where a plain (not rendered) object comes from; the fallback is computed only if a finding needs it. */
class PlainOrigin implements ObjectOrigin {
  constructor(
    readonly sources: ObjectSource[],
    private readonly doc: DocumentSource,
    readonly build?: string,
  ) {}

  get fallback(): SourceLocation {
    return this.doc.startLocation();
  }
}

/** Objects of one document, expanding `kind: List` (and `*List`) items. */
export function objectsOfDocument(
  doc: DocumentSource,
  value: unknown,
  ignoreGroups: readonly string[],
  origin: (sources: ObjectSource[]) => ObjectOrigin = (sources) => new PlainOrigin(sources, doc),
): KubeObject[] {
  if (!looksLikeObject(value) || isIgnoredConfig(value, ignoreGroups)) return [];
  if (value.kind.endsWith('List') && Array.isArray(value.items)) {
    const out: KubeObject[] = [];
    asArray(value.items).forEach((item, index) => {
      if (looksLikeObject(item) && !isIgnoredConfig(item, ignoreGroups)) {
        out.push(new KubeObject(item, origin([{ doc, basePath: ['items', index], value: item, role: 'object' }])));
      }
    });
    return out;
  }
  return [new KubeObject(value, origin([{ doc, basePath: [], value, role: 'object' }]))];
}

/** Objects of a plain file; `build` names the build it is part of (see ObjectOrigin.build). */
export function objectsOfFile(file: LoadedFile, ignoreGroups: readonly string[], build?: string): KubeObject[] {
  const out: KubeObject[] = [];
  file.parsed.documents.forEach((parsed, i) => {
    const doc = file.documents[i]!;
    out.push(...objectsOfDocument(doc, parsed.value, ignoreGroups, (sources) => new PlainOrigin(sources, doc, build)));
  });
  return out;
}

export function fileStart(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}
