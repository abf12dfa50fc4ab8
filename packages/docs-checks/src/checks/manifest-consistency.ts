import { z } from 'zod';
import type { CheckDefinition, Evidence, Finding, KubeObjectRef } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import { compilePatterns, findSection } from '../markdown/document.js';
import { findMentions, kindInfo, mentionsName, type Mention } from '../kube/mentions.js';
import { patternSchema } from './required-sections.js';
import { documentOf, makeEvidence, makeFinding, notesLocation, notesUnavailable, plural } from './shared.js';

const kindName = z
  .string()
  .refine((k) => kindInfo(k) !== undefined, 'a Kubernetes kind the notes can name (Deployment, Service, …)');

export const manifestConsistencyOptions = z.strictObject({
  /** Report objects the notes name that the manifests do not define. */
  checkMentions: z.boolean().default(true),
  /** Report main workloads the notes never mention. */
  requireWorkloadMentions: z.boolean().default(true),
  /** The kinds that are "main workloads". */
  workloadKinds: z.array(z.string().min(1)).default(['Deployment', 'StatefulSet', 'DaemonSet']),
  /**
   * Kinds the notes may name without the manifests defining them: Secrets are
   * usually created out of band (`kubectl create secret`) and must not be committed.
   */
  uncheckedKinds: z.array(kindName).default(['Secret']),
  /** Names never reported (e.g. objects created by the course's platform). */
  ignoreNames: z.array(z.string()).default(['default', 'kube-system']),
  /** Where "not mentioned" findings point: the first heading matching these, else the top of the notes. */
  mentionSectionPatterns: z.array(patternSchema).default(['component', 'workload', 'architect']),
});
export type ManifestConsistencyOptions = z.infer<typeof manifestConsistencyOptions>;

function sameKind(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export const manifestConsistency: CheckDefinition<DocsContext, ManifestConsistencyOptions> = {
  id: 'docs/manifest-consistency',
  stage: 'docs',
  title: 'The notes and the manifests describe the same objects',
  rationale:
    'Notes that name objects the cluster does not have, or skip the workloads it does run, send the on-call engineer after the wrong thing.',
  severity: 'error',
  fixHint: [
    'Name the objects exactly as the manifests do, with their kind, and describe every Deployment/StatefulSet/DaemonSet:',
    '',
    '```markdown',
    'The Deployment `web` (3 replicas) sits behind the Service `web`; its settings come from the ConfigMap `web-config`.',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/overview/working-with-objects/names/',
  options: manifestConsistencyOptions,
  check(context, options) {
    const meta = manifestConsistency;
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
      if (objects.length === 0) return { findings: [], examined: 0, passed: 0 };
      return notesUnavailable(
        meta,
        context,
        options.requireWorkloadMentions ? workloads.size : 1,
        'their consistency with the manifests',
      );
    }
    const evidence: Evidence[] = [];
    if (objects.length === 0) {
      evidence.push(
        makeEvidence(
          meta,
          'inventory',
          'no Kubernetes objects were found, so the notes were not compared with the manifests',
        ),
      );
      return { findings: [], evidence, examined: 0, passed: 0 };
    }
    const findings: Finding[] = [];
    let examined = 0;
    let passed = 0;

    if (options.checkMentions) {
      const namespaces = new Set(objects.map((o) => o.namespace).filter((n): n is string => n !== undefined));
      const exists = (m: Mention): boolean =>
        objects.some((o) => sameKind(o.kind, m.kind) && o.name.toLowerCase() === m.name) ||
        (m.kind === 'Namespace' && namespaces.has(m.name));
      const seen = new Map<string, Mention>();
      for (const m of findMentions(doc)) {
        const key = `${m.kind}/${m.name}`;
        const previous = seen.get(key);
        if (!previous || (!previous.strong && m.strong)) seen.set(key, m);
      }
      for (const [key, m] of seen) {
        if (ignored.has(m.name) || options.uncheckedKinds.some((k) => sameKind(k, m.kind))) continue;
        const ok = exists(m);
        if (!ok && !m.strong) continue;
        examined += 1;
        if (ok) {
          passed += 1;
          continue;
        }
        const sameKindNames = [...new Set(objects.filter((o) => sameKind(o.kind, m.kind)).map((o) => o.name))].sort();
        const otherKinds = [...new Set(objects.filter((o) => o.name.toLowerCase() === m.name).map((o) => o.kind))];
        const known =
          sameKindNames.length > 0
            ? `${m.kind} objects in the manifests: ${sameKindNames.slice(0, 6).join(', ')}${sameKindNames.length > 6 ? ', …' : ''}`
            : `the manifests define no ${m.kind} at all`;
        const alsoKind = otherKinds.length > 0 ? `; '${m.name}' is a ${otherKinds.join('/')} there` : '';
        findings.push(
          makeFinding(meta, {
            message: `The notes name ${m.kind} '${m.name}' (line ${m.line}), but no ${m.kind} of that name is in the manifests (${known}${alsoKind}).`,
            location: { file: doc.path, line: m.line, column: m.column },
            subject: key,
          }),
        );
      }
    }

    if (options.requireWorkloadMentions) {
      const section = findSection(doc, compilePatterns(options.mentionSectionPatterns));
      const where = section ? { file: doc.path, line: section.line, column: section.column } : notesLocation(context);
      for (const [key, o] of workloads) {
        examined += 1;
        const found = mentionsName(doc, o.name);
        if (found) {
          passed += 1;
          continue;
        }
        findings.push(
          makeFinding(meta, {
            message: `The ${o.kind} '${o.name}' (${o.location.file}:${o.location.line}) is not mentioned in the notes: describe what it runs${section ? ` in '${section.text}'` : ''}.`,
            location: where,
            subject: key,
          }),
        );
      }
    }
    evidence.push(
      makeEvidence(
        meta,
        'inventory',
        `${plural(objects.length, 'object')} in the manifests, ${plural(workloads.size, 'main workload')}; ${plural(passed, 'consistent reference')} of ${examined}`,
      ),
    );
    return { findings, evidence, examined, passed };
  },
};
