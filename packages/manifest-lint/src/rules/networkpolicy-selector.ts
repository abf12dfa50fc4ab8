import { z } from 'zod';
import { asArray, isRecord } from '../model/object.js';
import type { ObjectIndex } from '../model/index.js';
import {
  formatSelector,
  isEmptySelector,
  sameNamespace,
  toLabelSelector,
  type LabelSelector,
} from '../model/selectors.js';
import type { Workload } from '../model/workloads.js';
import { closestMatch } from '../util/text.js';
import { inOtherNamespaces, whereIs } from './support/helpers.js';
import { peerShape, type PeerShape } from './support/network-peers.js';
import { defineRule, hint } from './support/rule.js';

/** A typo of `intended`: a near spelling, or the same letters with two swapped (`wbe` for `web`). */
function isTypo(written: string, intended: string): boolean {
  if (closestMatch(written, [intended]) !== undefined) return true;
  if (written.length !== intended.length || written === intended) return false;
  const diff = [...written].flatMap((c, i) => (c === intended[i] ? [] : [i]));
  return diff.length === 2 && written[diff[0]!] === intended[diff[1]!] && written[diff[1]!] === intended[diff[0]!];
}

/**
 * A workload of the namespace the selector almost matches: every matchLabels
 * pair but one is right, and that one is a typo of the workload's value
 * (`app: frontnd`) or its value under another key (`name: web` for `app: web`).
 */
function nearMiss(
  index: ObjectIndex,
  selector: LabelSelector,
  namespace: string | undefined,
): { workload: Workload; label: string } | undefined {
  const pairs = Object.entries(selector.matchLabels);
  if (pairs.length === 0 || selector.matchExpressions.length > 0) return undefined;
  for (const workload of index.workloads) {
    if (!sameNamespace(workload.object.namespace, namespace)) continue;
    const wrong = pairs.filter(([k, v]) => workload.labels[k] !== v);
    if (wrong.length !== 1) continue;
    const [key, value] = wrong[0]!;
    const labels = Object.entries(workload.labels);
    const sameKey = workload.labels[key];
    if (sameKey !== undefined && isTypo(value, sameKey)) return { workload, label: `${key}=${sameKey}` };
    // The value under another key (`app: web` where the pods say `app.kubernetes.io/name: web`).
    const sameValue = labels.find(([k, v]) => v === value && (isTypo(key, k) || value.length >= 3));
    if (sameValue) return { workload, label: `${sameValue[0]}=${sameValue[1]}` };
  }
  return undefined;
}

/** An item with a namespaceSelector and nothing else: every pod of the selected namespaces. */
function isLoneNamespace(shape: PeerShape): shape is PeerShape & { namespace: LabelSelector } {
  return shape.namespace !== undefined && shape.pod === undefined && !shape.ipBlock;
}

/** `the podSelector app=web` / `the namespaceSelector team=a` (what an item selects, as a message says it). */
function describePeer(shape: PeerShape): string {
  if (shape.pod) return `the podSelector ${formatSelector(shape.pod)}`;
  return `the namespaceSelector ${formatSelector(shape.namespace!)}`;
}

export const networkPolicySelector = defineRule({
  id: 'lint/networkpolicy-selector',
  title: 'NetworkPolicy selectors select pods',
  rationale:
    "A policy whose podSelector matches no pod does nothing, so the traffic you meant to restrict flows freely; an ingress or egress peer whose labels are a typo of a workload's silently blocks the traffic you meant to allow. A peer that names pods the repository does not define (a database deployed separately) is a design choice, reported as a note. The items of `from`/`to` are ORed and the selectors inside one item ANDed: a lone `namespaceSelector: {}` item next to a podSelector item allows every pod of every namespace, which is reported; a lone namespace item next to a podSelector item that selects nothing of the policy's namespace is noted.",
  severity: 'warning',
  fixHint: hint(
    "Copy the labels from the workload's pod template (`spec.template.metadata.labels`).",
    `
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: web   # as in the Deployment's pod template
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: frontend`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource',
  options: z
    .object({
      /** Also check `from`/`to` podSelectors that refer to the policy's own namespace. */
      checkPeers: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const policy of context.index.ofKind('NetworkPolicy')) {
      const subject = policy.ref;
      reporter.examine(subject);
      const selector = toLabelSelector(policy.get(['spec', 'podSelector']));
      if (
        selector &&
        !isEmptySelector(selector) &&
        context.index.podsSelectedBy(selector, policy.namespace).length === 0
      ) {
        const near = nearMiss(context.index, selector, policy.namespace);
        const elsewhere = near ? [] : context.index.podsSelectedElsewhere(selector, policy.namespace);
        reporter.report({
          subject,
          message:
            elsewhere.length > 0
              ? `${subject} applies to pods labelled ${formatSelector(selector)}, but only pods of other namespaces have these labels (${inOtherNamespaces(elsewhere)}), and a NetworkPolicy applies to pods of its own namespace only (${whereIs(policy)}); give the policy the namespace of the pods it is for, or it restricts none of them`
              : `${subject} applies to pods labelled ${formatSelector(selector)}, but no pod template in the repository has these labels${
                  near ? ` (did you mean ${near.label}, as in ${near.workload.subject}?)` : ''
                }: it restricts none of the repository's pods`,
          location: policy.locate(['spec', 'podSelector'], 'key'),
        });
      }
      if (!options.checkPeers) continue;
      for (const [direction, peersKey] of [
        ['ingress', 'from'],
        ['egress', 'to'],
      ] as const) {
        asArray(policy.get(['spec', direction])).forEach((rule, r) => {
          if (!isRecord(rule)) return;
          const peers = asArray(rule[peersKey]);
          const shapes = peers.map(peerShape);
          const allows = direction === 'ingress' ? 'allows traffic from' : 'allows traffic to';
          // Items of `to`/`from` are ORed: a lone `namespaceSelector: {}` (every pod of every namespace)
          // makes its pod-selecting siblings redundant, which says they were meant to be ANDed with it.
          const everywhere = shapes.findIndex((s) => s && isLoneNamespace(s) && isEmptySelector(s.namespace));
          const redundant = shapes.filter((s, i): s is PeerShape => i !== everywhere && s !== undefined && !s.ipBlock);
          if (everywhere >= 0 && redundant.length > 0) {
            const lonePod = redundant.find((s) => s.pod && !s.namespace);
            const sibling =
              redundant.length > 1
                ? `the other ${redundant.length} items`
                : `the item with ${describePeer(redundant[0]!)}`;
            reporter.report({
              subject,
              message: `${subject} ${allows} every pod of every namespace: this \`namespaceSelector: {}\` is an item of its own in \`${peersKey}\`, and the items of \`${peersKey}\` are ORed, so it also makes ${sibling} redundant. ${
                lonePod
                  ? 'To select only those pods, in any namespace, put both selectors in one item (no dash before the second)'
                  : 'Remove it, or put it in the same item as the podSelector it was meant for'
              }`,
              location: policy.locate(['spec', direction, r, peersKey, everywhere, 'namespaceSelector'], 'key'),
            });
          }
          // A lone namespace item next to a lone podSelector item that selects nothing of the own namespace.
          const namespaceItem = everywhere >= 0 ? undefined : shapes.find((s) => s && isLoneNamespace(s));
          peers.forEach((peer, i) => {
            if (!isRecord(peer) || peer.namespaceSelector !== undefined) return;
            const peerSelector = toLabelSelector(peer.podSelector);
            if (!peerSelector || isEmptySelector(peerSelector)) return;
            if (context.index.podsSelectedBy(peerSelector, policy.namespace).length > 0) return;
            const location = policy.locate(['spec', direction, r, peersKey, i, 'podSelector'], 'key');
            const near = nearMiss(context.index, peerSelector, policy.namespace);
            if (near) {
              // A typo of a workload's labels: the traffic meant for it is not allowed by this rule.
              reporter.report({
                subject,
                message: `${subject} ${allows} pods labelled ${formatSelector(peerSelector)}, which no pod template in the repository has; did you mean ${near.label}, as in ${near.workload.subject}? As written, this rule does not allow ${direction === 'ingress' ? `traffic from ${near.workload.subject}` : `traffic to ${near.workload.subject}`}`,
                location,
              });
              return;
            }
            const elsewhere = context.index.podsSelectedElsewhere(peerSelector, policy.namespace);
            if (elsewhere.length > 0) {
              // A podSelector alone means pods of the policy's namespace: these pods are not among them.
              reporter.report({
                subject,
                message: `${subject} ${allows} pods labelled ${formatSelector(peerSelector)} of its own namespace, but only pods of other namespaces have these labels (${inOtherNamespaces(elsewhere)}), so this rule does not allow that traffic; add a namespaceSelector for their namespace next to the podSelector, or move the policy to it`,
                location,
              });
              return;
            }
            if (everywhere >= 0) return; // said above, at the `namespaceSelector: {}`
            if (namespaceItem?.namespace) {
              // Likely meant as one item (ANDed); possibly an intended OR with pods deployed separately: a note.
              reporter.report({
                subject,
                severity: 'info',
                message: `${subject} ${allows} pods labelled ${formatSelector(peerSelector)} of its own namespace, which the repository does not define, OR ${direction === 'ingress' ? 'from' : 'to'} every pod of the namespaces of the namespaceSelector ${formatSelector(namespaceItem.namespace)}: the two are separate items of \`${peersKey}\`, and items are ORed. If you meant only the pods labelled ${formatSelector(peerSelector)} of those namespaces, put both selectors in one item (no dash before podSelector)`,
                location,
              });
              return;
            }
            // Pods the repository does not define (deployed separately, or not at all): a design choice.
            reporter.report({
              subject,
              severity: 'info',
              message: `${subject} ${allows} pods labelled ${formatSelector(peerSelector)}, which the repository does not define: if they are deployed separately in the namespace (a database installed by a chart or an operator), this rule lets that traffic through; if they do not exist, it allows nothing. Say in the notes which component provides them`,
              location,
            });
          });
        });
      }
    }
  },
});
