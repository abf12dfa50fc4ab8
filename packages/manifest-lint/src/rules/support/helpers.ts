/** Shared pieces of the lint rules. */
import type { SourceLocation } from '@labgrader/core';
import type { KubeObject } from '../../model/object.js';
import { namespaceOf } from '../../model/selectors.js';
import type { Container, Workload } from '../../model/workloads.js';
import type { Path } from '../../yaml/parse.js';

/** Location of a field of a container (or of the container's `name:` when the field is missing). */
export function containerLocation(
  container: Container,
  field: Path = [],
  mode: 'key' | 'value' = 'value',
): SourceLocation {
  return container.workload.object.locate([...container.path, ...field], mode);
}

/** Location of a field of a workload's pod spec. */
export function podSpecLocation(workload: Workload, field: Path, mode: 'key' | 'value' = 'value'): SourceLocation {
  return workload.object.locate([...workload.podSpecPath, ...field], mode);
}

/** A value as a human reads it in a message. */
export function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** Kubernetes' scaled int-or-percent: `25%` of `total`, rounded up or down. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)%$/.exec(value.trim());
  if (!match) return undefined;
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** Where an object is, as a message says it: `Service shop/api is in namespace shop`. */
export function whereIs(object: KubeObject): string {
  return object.namespace
    ? `${object.ref} is in namespace ${object.namespace}`
    : `${object.ref} sets no namespace, so it lands where it is applied: \`default\` with a plain kubectl apply`;
}

/**
 * Why a selector that matches nothing in its namespace looks right: pods of
 * other namespaces have the labels (`Deployment team-b/api`, `Deployment api in default`).
 */
export function inOtherNamespaces(workloads: readonly Workload[]): string {
  const shown = workloads
    .slice(0, 3)
    .map((w) => (w.object.namespace ? w.subject : `${w.subject} in ${namespaceOf(undefined)}`));
  const more = workloads.length > shown.length ? `, and ${workloads.length - shown.length} more` : '';
  return `${shown.join(', ')}${more}`;
}
