import { z } from 'zod';
import { asArray, isRecord } from '../model/object.js';
import { formatSelector, isEmptySelector, toLabelSelector } from '../model/selectors.js';
import { defineRule, hint } from './support/rule.js';

export const networkPolicySelector = defineRule({
  id: 'lint/networkpolicy-selector',
  title: 'NetworkPolicy selectors select pods',
  rationale:
    'A policy whose podSelector matches no pod does nothing, so the traffic you meant to restrict flows freely; an ingress or egress peer that matches no pod silently blocks the traffic you meant to allow.',
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
        reporter.report({
          subject,
          message: `${subject} applies to pods labelled ${formatSelector(selector)}, but no pod template in the repository has these labels; the policy does nothing`,
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
          asArray(rule[peersKey]).forEach((peer, i) => {
            if (!isRecord(peer) || peer.namespaceSelector !== undefined) return;
            const peerSelector = toLabelSelector(peer.podSelector);
            if (!peerSelector || isEmptySelector(peerSelector)) return;
            if (context.index.podsSelectedBy(peerSelector, policy.namespace).length > 0) return;
            reporter.report({
              subject,
              message: `${subject} ${direction === 'ingress' ? 'allows traffic from' : 'allows traffic to'} pods labelled ${formatSelector(peerSelector)}, but no pod template in the repository has these labels; that traffic stays blocked`,
              location: policy.locate(['spec', direction, r, peersKey, i, 'podSelector'], 'key'),
            });
          });
        });
      }
    }
  },
});
