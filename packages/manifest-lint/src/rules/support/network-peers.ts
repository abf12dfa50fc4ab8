/**
 * NetworkPolicy peers and rules as Kubernetes evaluates them
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors):
 *
 *  - the items of `to`/`from` are ORed; `to`/`from` empty or missing matches every peer;
 *  - inside one item, a namespaceSelector and a podSelector are ANDed (those pods of those namespaces);
 *    a podSelector alone selects pods of the policy's own namespace, a namespaceSelector alone
 *    every pod of the selected namespaces; an ipBlock excludes both;
 *  - the ports of a rule are ANDed with its peers (and ORed among themselves), TCP by default;
 *  - a policy without policyTypes isolates ingress, and egress only if its `egress` list has rules.
 */
import { asArray, isRecord, type KubeObject } from '../../model/object.js';
import {
  namespaceOf,
  selectorVerdict,
  toLabelSelector,
  type KnownLabels,
  type LabelSelector,
  type Verdict,
} from '../../model/selectors.js';

export type Direction = 'Ingress' | 'Egress';

/** The policy types a NetworkPolicy has once the API server has defaulted them. */
export function isolates(policy: KubeObject, direction: Direction): boolean {
  const types = asArray(policy.get(['spec', 'policyTypes']));
  if (types.length > 0) return types.includes(direction);
  // SetDefaults_NetworkPolicy: Ingress always, Egress when `egress` has at least one rule.
  return direction === 'Ingress' || asArray(policy.get(['spec', 'egress'])).length > 0;
}

/** What a peer is made of (`namespace`/`pod`: the selectors written in that one item). */
export interface PeerShape {
  ipBlock: boolean;
  namespace?: LabelSelector;
  pod?: LabelSelector;
}

export function peerShape(peer: unknown): PeerShape | undefined {
  if (!isRecord(peer)) return undefined;
  const namespace = toLabelSelector(peer.namespaceSelector);
  const pod = toLabelSelector(peer.podSelector);
  const shape: PeerShape = { ipBlock: isRecord(peer.ipBlock) };
  if (namespace) shape.namespace = namespace;
  if (pod) shape.pod = pod;
  return shape.ipBlock || namespace || pod ? shape : undefined;
}

/** Pods a peer may select: a namespace (with the labels known of it) and the pods' labels. */
export interface PodTarget {
  namespace: string;
  namespaceLabels: KnownLabels;
  podLabels: KnownLabels;
}

/**
 * Whether one peer item selects the target pods, for a policy of `policyNamespace`.
 * An ipBlock is `maybe`: whether it covers pod addresses depends on the cluster.
 */
export function peerSelects(peer: unknown, policyNamespace: string | undefined, target: PodTarget): Verdict {
  const shape = peerShape(peer);
  if (!shape) return 'no';
  if (shape.ipBlock) return 'maybe';
  const inNamespace: Verdict = shape.namespace
    ? selectorVerdict(shape.namespace, target.namespaceLabels)
    : namespaceOf(policyNamespace) === target.namespace
      ? 'yes'
      : 'no';
  if (inNamespace === 'no') return 'no';
  const pods: Verdict = shape.pod ? selectorVerdict(shape.pod, target.podLabels) : 'yes';
  if (pods === 'no') return 'no';
  return inNamespace === 'yes' && pods === 'yes' ? 'yes' : 'maybe';
}

/** Whether any item of a rule's `to`/`from` selects the target (ORed; empty or missing: every peer). */
export function peersSelect(peers: unknown, policyNamespace: string | undefined, target: PodTarget): Verdict {
  const list = asArray(peers);
  if (list.length === 0) return 'yes';
  let verdict: Verdict = 'no';
  for (const peer of list) {
    const one = peerSelects(peer, policyNamespace, target);
    if (one === 'yes') return 'yes';
    if (one === 'maybe') verdict = 'maybe';
  }
  return verdict;
}

/** A namespace's labels as Kubernetes sets them (kubernetes.io/metadata.name, since 1.21); others may exist. */
export function namespaceLabels(namespace: string): KnownLabels {
  return { labels: { 'kubernetes.io/metadata.name': namespace }, complete: false };
}
