import { z } from 'zod';
import { asArray, asString, isRecord } from '../model/object.js';
import { formatSelector, selectorMatches, toLabelSelector } from '../model/selectors.js';
import { REPLICATED_KINDS, type Workload } from '../model/workloads.js';
import type { Path } from '../yaml/parse.js';
import { podSpecLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

const HOSTNAME = 'kubernetes.io/hostname';

/** One way a pod spec asks the scheduler to keep its replicas apart. */
interface SpreadTerm {
  what: string;
  /** Path of the term's labelSelector (or of the term when it has none), inside the pod spec. */
  selectorPath: Path;
  selects: boolean;
  topologyKey: string | undefined;
  /** A hard requirement (required anti-affinity): pods stay Pending when it cannot be met. */
  required: boolean;
  selectorText: string;
}

function spreadTerms(workload: Workload): SpreadTerm[] {
  const terms: SpreadTerm[] = [];
  const add = (what: string, path: Path, term: unknown, required: boolean) => {
    if (!isRecord(term)) return;
    const selector = toLabelSelector(term.labelSelector);
    terms.push({
      what,
      selectorPath: selector ? [...path, 'labelSelector'] : path,
      // No labelSelector matches no pods: the term spreads nothing.
      selects: selector !== undefined && selectorMatches(selector, workload.labels),
      topologyKey: asString(term.topologyKey),
      required,
      selectorText: selector ? formatSelector(selector) : 'no labelSelector',
    });
  };
  const spec = workload.podSpec;
  asArray(spec.topologySpreadConstraints).forEach((c, i) =>
    add('topology spread constraint', ['topologySpreadConstraints', i], c, false),
  );
  const anti = isRecord(spec.affinity) && isRecord(spec.affinity.podAntiAffinity) ? spec.affinity.podAntiAffinity : {};
  const base = ['affinity', 'podAntiAffinity'];
  asArray(anti.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    add('required pod anti-affinity', [...base, 'requiredDuringSchedulingIgnoredDuringExecution', i], t, true),
  );
  asArray(anti.preferredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    add(
      'preferred pod anti-affinity',
      [...base, 'preferredDuringSchedulingIgnoredDuringExecution', i, 'podAffinityTerm'],
      isRecord(t) ? t.podAffinityTerm : undefined,
      false,
    ),
  );
  return terms;
}

export const podSpread = defineRule({
  id: 'lint/pod-spread',
  title: 'Replicas are spread over nodes',
  rationale:
    'Several replicas only survive the loss of a node if they run on different nodes. Without a topology spread constraint or pod anti-affinity the scheduler may put every replica on the same node, and one node failure or drain is a full outage. The opposite mistake: a *required* anti-affinity with more replicas than nodes leaves the extra pods Pending.',
  severity: 'warning',
  fixHint: hint(
    "Spread the pods over nodes with a topology spread constraint that selects the workload's own pods; `ScheduleAnyway` keeps them schedulable on a small (even one-node) cluster.",
    `
spec:
  template:
    spec:
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: web   # the pod template's labels`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/',
  options: z
    .object({
      /** Workloads with at least this many replicas must be spread. */
      minReplicas: z.number().int().min(2).default(2),
      /**
       * Nodes in the cluster the lab runs on (kind: 1). When set, a required
       * anti-affinity over hostnames with more replicas than nodes is an error.
       */
      nodes: z.number().int().min(1).optional(),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      if (!REPLICATED_KINDS.has(workload.kind)) continue;
      const summary = context.index.replicaSummary(workload);
      const count = summary.min;
      if (count < options.minReplicas) continue;
      reporter.examine(workload.subject);
      const terms = spreadTerms(workload);
      const effective = terms.filter((t) => t.selects && t.topologyKey);

      if (options.nodes !== undefined && count > options.nodes) {
        for (const term of effective.filter((t) => t.required && t.topologyKey === HOSTNAME)) {
          reporter.report({
            subject: workload.subject,
            severity: 'error',
            message: `${workload.subject} ${summary.text} and requires each on a different node (${term.what} on ${HOSTNAME}) but the cluster has ${options.nodes} node${options.nodes === 1 ? '' : 's'}: ${summary.hpa ? 'at least ' : ''}${count - options.nodes} pod${count - options.nodes === 1 ? '' : 's'} would stay Pending; use preferredDuringScheduling or a topology spread constraint with ScheduleAnyway`,
            location: podSpecLocation(workload, term.selectorPath, 'key'),
          });
        }
      }
      if (effective.length > 0) continue;

      const inert = terms.filter((t) => !t.selects);
      if (inert.length > 0) {
        for (const term of inert) {
          reporter.report({
            subject: workload.subject,
            message: `${workload.subject}'s ${term.what} selects ${term.selectorText}, which does not match its own pods (${Object.entries(
              workload.labels,
            )
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}): it spreads nothing, and all its replicas may run on one node`,
            location: podSpecLocation(workload, term.selectorPath, 'key'),
          });
        }
        continue;
      }
      const replicasSet = workload.object.get(['spec', 'replicas']) !== undefined;
      reporter.report({
        subject: workload.subject,
        message: `${workload.subject} ${summary.text} with no topology spread constraint or pod anti-affinity: the scheduler may put them all on one node, and losing that node is a full outage`,
        location: replicasSet
          ? workload.object.locate(['spec', 'replicas'], 'key')
          : workload.object.locate(['metadata', 'name']),
      });
    }
  },
});
