import { z } from 'zod';
import { defineCheck, type KubeObjectRef } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import { findMentions, kindInfo, type Mention } from '../kube/mentions.js';
import { findName, foldLines, kindClaims, namesObject, type KindClaim } from '../kube/names.js';
import { proseSegments } from '../markdown/document.js';
import { selectSection } from '../markdown/sections.js';
import { patternSchema } from './required-sections.js';
import { documentOf, notesLocation, notesUnavailable, plural } from './shared.js';

const kindName = z
  .string()
  .refine((k) => kindInfo(k) !== undefined, 'a Kubernetes kind the notes can name (Deployment, Service, …)');

export const manifestConsistencyOptions = z.strictObject({
  /** Report objects the notes name that the manifests do not define. */
  checkMentions: z.boolean().default(true),
  /** Report main workloads the notes never mention (by name, in any of the ways people write it). */
  requireWorkloadMentions: z.boolean().default(true),
  /** Report where the notes say an object is of another kind than the manifests ("a StatefulSet" vs a Deployment). */
  checkKinds: z.boolean().default(true),
  /** The kinds that are "main workloads". */
  workloadKinds: z.array(z.string().min(1)).default(['Deployment', 'StatefulSet', 'DaemonSet']),
  /**
   * Kinds the notes may name without the manifests defining them: Secrets are
   * usually created out of band (`kubectl create secret`) and must not be committed.
   */
  uncheckedKinds: z.array(kindName).default(['Secret']),
  /** Names never reported (e.g. objects created by the course's platform). */
  ignoreNames: z.array(z.string()).default(['default', 'kube-system']),
  /** Where "not mentioned" findings point: the section about these (besides the built-in components/architecture words), else the top of the notes. */
  mentionSectionPatterns: z.array(patternSchema).default([]),
});
export type ManifestConsistencyOptions = z.infer<typeof manifestConsistencyOptions>;

function sameKind(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

const at = (o: KubeObjectRef): string => `${o.location.file}:${o.location.line}`;

export const manifestConsistency = defineCheck<DocsContext, ManifestConsistencyOptions>({
  id: 'docs/manifest-consistency',
  stage: 'docs',
  title: 'The notes and the manifests describe the same objects',
  rationale:
    'Notes that name objects the cluster does not have, say an object is of another kind, or skip the workloads it does run, send the on-call engineer after the wrong thing.',
  severity: 'error',
  fixHint: [
    'Name the objects as the manifests do (or as everyone writes them: `postgres` may be "PostgreSQL"), with their kind, and describe every Deployment/StatefulSet/DaemonSet:',
    '',
    '```markdown',
    'The Deployment `web` (3 replicas) sits behind the Service `web`; its settings come from the ConfigMap `web-config`.',
    'PostgreSQL runs as the StatefulSet `postgres` with one replica and a 1 GiB PersistentVolumeClaim.',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/overview/working-with-objects/names/',
  options: manifestConsistencyOptions,
  run(context, options, reporter) {
    const objects = context.inventory.objects;
    const ignored = new Set(options.ignoreNames.map((n) => n.toLowerCase()));
    const workloads = new Map<string, KubeObjectRef>();
    for (const o of objects) {
      if (!options.workloadKinds.some((k) => sameKind(k, o.kind)) || ignored.has(o.name.toLowerCase())) continue;
      const key = `${o.kind}/${o.name}`;
      if (!workloads.has(key)) workloads.set(key, o);
    }
    const doc = documentOf(context);
    if (!doc) {
      // No notes: nothing in them matches the manifests, whether or not there are manifests.
      return notesUnavailable(
        context,
        reporter,
        options.requireWorkloadMentions ? [...workloads.keys()] : [],
        'their consistency with the manifests',
      );
    }
    if (objects.length === 0) {
      reporter.evidence(
        'inventory',
        'no Kubernetes objects were found, so the notes were not compared with the manifests',
      );
      return;
    }
    // Names in code (`web-svc`, deployment/web) are exact claims; prose names ("PostgreSQL") may be aliases.
    const isDefined = (kind: string, name: string): boolean =>
      objects.some((o) => sameKind(o.kind, kind) && o.name.toLowerCase() === name);
    const isNamed = (kind: string, written: string): boolean =>
      objects.some((o) => sameKind(o.kind, kind) && namesObject(written, o.name));
    const namespaces = new Set(objects.map((o) => o.namespace).filter((n): n is string => n !== undefined));
    const failed = new Set<string>();

    // Kind claims: "PostgreSQL runs as a StatefulSet" when the manifests run it as a Deployment.
    const claims: KindClaim[] = [];
    if (options.checkKinds) {
      const workloadObjects = [...workloads.values()];
      for (const segment of proseSegments(doc.tree.children)) {
        kindClaims(segment.value, segment.line, segment.column, workloadObjects, claims);
      }
      const mentions = findMentions(doc);
      for (const m of mentions) {
        if (m.form === 'slash' && !m.strong) continue;
        // "Ingress `web`" is a claim about an Ingress, not about the Deployment web.
        if (!options.workloadKinds.some((k) => sameKind(k, m.kind))) continue;
        const object = workloadObjects.find((o) => o.name.toLowerCase() === m.name || namesObject(m.name, o.name));
        if (object) claims.push({ kind: m.kind, object, written: m.name, line: m.line, column: m.column });
      }
      const reported = new Set<string>();
      for (const claim of claims.sort((a, b) => a.line - b.line || a.column - b.column)) {
        const object = claim.object;
        if (sameKind(claim.kind, object.kind)) continue;
        // The notes may name another object of that kind and name: then there is no contradiction.
        if (isNamed(claim.kind, claim.written)) continue;
        const key = `${object.kind}/${object.name}`;
        if (reported.has(key)) continue;
        reported.add(key);
        failed.add(key);
        reporter.examine(key);
        reporter.report({
          message: `The notes say ${claim.written} is a ${claim.kind} (line ${claim.line}), but the manifests define '${object.name}' as a ${object.kind} (${at(object)}): make the notes and the manifests agree.`,
          location: { file: doc.path, line: claim.line, column: claim.column },
          subject: key,
        });
      }
    }

    if (options.checkMentions) {
      const seen = new Map<string, Mention>();
      for (const m of findMentions(doc)) {
        const key = `${m.kind}/${m.name}`;
        const previous = seen.get(key);
        if (!previous || (!previous.strong && m.strong)) seen.set(key, m);
      }
      for (const [key, m] of seen) {
        if (ignored.has(m.name) || options.uncheckedKinds.some((k) => sameKind(k, m.kind))) continue;
        const ok = isDefined(m.kind, m.name) || (m.kind === 'Namespace' && namespaces.has(m.name));
        // A workload named with the wrong kind is reported once, as a contradiction.
        const contradicted =
          options.workloadKinds.some((k) => sameKind(k, m.kind)) &&
          [...failed].some((f) => namesObject(m.name, f.slice(f.indexOf('/') + 1)));
        if (!ok && (!m.strong || contradicted)) continue;
        reporter.examine(key);
        if (ok) continue;
        const sameKindNames = [...new Set(objects.filter((o) => sameKind(o.kind, m.kind)).map((o) => o.name))].sort();
        const otherKinds = [...new Set(objects.filter((o) => o.name.toLowerCase() === m.name).map((o) => o.kind))];
        const known =
          sameKindNames.length > 0
            ? `${m.kind} objects in the manifests: ${sameKindNames.slice(0, 6).join(', ')}${sameKindNames.length > 6 ? ', …' : ''}`
            : `the manifests define no ${m.kind} at all`;
        const alsoKind = otherKinds.length > 0 ? `; '${m.name}' is a ${otherKinds.join('/')} there` : '';
        reporter.report({
          message: `The notes name ${m.kind} '${m.name}' (line ${m.line}), but no ${m.kind} of that name is in the manifests (${known}${alsoKind}).`,
          location: { file: doc.path, line: m.line, column: m.column },
          subject: key,
        });
      }
    }

    const found: string[] = [];
    if (options.requireWorkloadMentions) {
      const folded = foldLines(doc.text);
      const section = selectSection(doc, context.lexicon, {
        topic: 'components',
        patterns: options.mentionSectionPatterns,
      }).chosen?.heading;
      const where = section ? { file: doc.path, line: section.line, column: section.column } : notesLocation(context);
      for (const [key, o] of workloads) {
        reporter.examine(key);
        const mention = findName(folded, o.name);
        if (mention) {
          found.push(`${o.kind} ${o.name} as '${mention.form}' (line ${mention.line})`);
          continue;
        }
        reporter.report({
          message: `The ${o.kind} '${o.name}' (${at(o)}) is not mentioned in the notes: describe what it runs${section ? ` in '${section.text}'` : ''}.`,
          location: where,
          subject: key,
        });
      }
    }
    reporter.evidence(
      'inventory',
      `${plural(objects.length, 'object')} in the manifests, ${plural(workloads.size, 'main workload')}${found.length > 0 ? `; the notes name ${found.join(', ')}` : ''}`,
    );
  },
});
