import type { SourceLocation } from '@labgrader/core';
import { z } from 'zod';
import { asRecord, asString, isRecord, type KubeObject } from '../model/object.js';
import { namespaceOf } from '../model/selectors.js';
import { groupOf } from '../schema/kubernetes.js';
import { defineRule, hint } from './support/rule.js';

/** A value with its mapping keys sorted, so that key order does not make two definitions differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const at = (location: SourceLocation) => `${location.file}:${location.line}`;

export const duplicateObject = defineRule({
  id: 'lint/duplicate-object',
  title: 'Each object is defined once',
  rationale:
    'Two definitions of one object (same API group, kind, namespace and name) are not two objects: `kubectl apply` applies both, one after the other, and the one applied last replaces the other. The cluster runs one of them while both were reviewed and graded, and a change made to the wrong copy silently does nothing.',
  severity: 'error',
  fixHint: hint(
    'Keep one definition of each object (delete the copy, or give it its own name or namespace); put what differs between environments in a kustomize overlay or Helm values, not in a second copy.',
    `
# k8s/base/kustomization.yaml: Deployment web, once
resources:
  - deployment.yaml
---
# k8s/overlays/prod/kustomization.yaml: only what prod changes
resources:
  - ../../base
patches:
  - path: replicas.yaml`,
  ),
  docsUrl: 'https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    // Only objects of one build are deployed together: each rendered overlay or chart is a build of
    // its own (a base rendered by two overlays is not a duplicate), the plain manifests are one.
    const builds = new Map<string, Map<string, KubeObject[]>>();
    for (const object of context.objects) {
      // generateName gives each object a name of its own; without any name, schema-valid says so.
      const name = asString(asRecord(object.value.metadata).name);
      if (!name) continue;
      const scoped = context.schema.kind(object.apiVersion, object.kind)?.ns === false;
      const namespace = scoped ? '' : namespaceOf(object.namespace);
      const identity = `${groupOf(object.apiVersion)}\u0000${object.kind}\u0000${namespace}\u0000${name}`;
      const build = object.origin.build ?? '';
      let objects = builds.get(build);
      if (!objects) builds.set(build, (objects = new Map()));
      const same = objects.get(identity);
      if (same) same.push(object);
      else objects.set(identity, [object]);
    }
    for (const objects of builds.values()) {
      for (const definitions of objects.values()) {
        const located = definitions
          .map((object) => ({ object, location: object.locate(['metadata', 'name']) }))
          .sort(
            (a, b) =>
              a.location.file.localeCompare(b.location.file) ||
              a.location.line - b.location.line ||
              a.location.column - b.location.column,
          );
        const first = located[0]!;
        const { kind, name } = first.object;
        const scoped = context.schema.kind(first.object.apiVersion, kind)?.ns === false;
        // Named as it lands: `ConfigMap default/settings` also for the copy written without a namespace.
        const subject = scoped ? `${kind} ${name}` : `${kind} ${namespaceOf(first.object.namespace)}/${name}`;
        reporter.examine(subject);
        const written = new Set(located.map((d) => d.object.namespace ?? ''));
        const why = !scoped && written.size > 1 ? ' (an object without a namespace lands in default)' : '';
        const firstValue = canonical(first.object.value);
        for (const { object, location } of located.slice(1)) {
          const where =
            at(location) === at(first.location)
              ? `is rendered twice from the same template line (${at(first.location)})`
              : `is already defined at ${at(first.location)}`;
          if (canonical(object.value) === firstValue) {
            reporter.report({
              subject,
              severity: 'info',
              message: `${subject} ${where}${why}, identically: kubectl apply leaves it as it is, but keep one copy, or a change made to one of them will be undone by the other`,
              location,
            });
            continue;
          }
          reporter.report({
            subject,
            message: `${subject} ${where}${why}, differently: kubectl apply applies both and the one applied last replaces the other, so the cluster runs only one of the definitions that were graded; keep one (or give this one another name)`,
            location,
          });
        }
      }
    }
  },
});
