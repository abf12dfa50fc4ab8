/**
 * The images labgrader put into the nodes (loaded from the local Docker
 * daemon, or built from the repository) are what must run. A container whose
 * pull policy is Always, written or by Kubernetes's default (no policy, and
 * the tag `latest` or no tag), would ask a registry for its image anyway:
 * where there is no registry the pod never starts, and elsewhere it runs
 * whatever the registry holds instead of the submitted code. Such containers
 * are applied with `IfNotPresent`, each change said at its line; the lint
 * rule lint/image-pull-policy still judges what the student wrote.
 */
import { toWorkload, valueAt } from '@labgrader/manifest-lint';
import type { Change } from './isolation/admission.js';
import { normalizeReference, parseReference } from './images.js';
import type { PlannedObject } from './plan.js';
import type { Json } from './labels.js';

/** Kubernetes's default: Always for `:latest` or no tag (unless pinned by digest), IfNotPresent otherwise. */
export function effectivePullPolicy(image: string, written: unknown): string {
  if (typeof written === 'string' && written) return written;
  const ref = parseReference(image);
  if (!ref) return 'IfNotPresent';
  if (ref.digest) return 'IfNotPresent';
  return ref.tag === undefined || ref.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/**
 * Sets `imagePullPolicy: IfNotPresent` in the manifests to apply (`objects[].manifest`, changed in place) on
 * every container that runs one of `inNodes` (names as the manifests write them) and would pull it; returns
 * one change per container.
 */
export function preferImagesInNodes(objects: readonly PlannedObject[], inNodes: readonly string[]): Change[] {
  const wanted = new Set(inNodes.map((image) => normalizeReference(image)));
  const changes: Change[] = [];
  for (const planned of objects) {
    const workload = toWorkload(planned.source);
    if (!workload) continue;
    for (const container of [...workload.initContainers, ...workload.containers]) {
      const image = container.value.image;
      if (typeof image !== 'string' || !wanted.has(normalizeReference(image))) continue;
      const written = container.value.imagePullPolicy;
      if (effectivePullPolicy(image, written) !== 'Always') continue;
      const target = valueAt(planned.manifest, container.path);
      if (target === null || typeof target !== 'object' || Array.isArray(target)) continue;
      (target as Json).imagePullPolicy = 'IfNotPresent';
      const why = written === undefined ? `no imagePullPolicy and the tag of ${image} defaults to Always` : 'Always';
      changes.push({
        source: planned.source,
        subject: container.subject,
        rule: 'image-in-nodes',
        change: `imagePullPolicy set to IfNotPresent (was ${why}): labgrader put ${image} into the nodes, and a pull would ask a registry for it instead of running the one submitted`,
        location: planned.source.locate(
          written === undefined ? [...container.path, 'image'] : [...container.path, 'imagePullPolicy'],
          'value',
        ),
      });
    }
  }
  return changes;
}
