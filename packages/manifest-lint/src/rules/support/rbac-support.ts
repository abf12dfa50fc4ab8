/** RBAC lookups shared by the RBAC rules. */
import { asArray, asRecord, asString, isRecord, type KubeObject } from '../../model/object.js';
import type { ObjectIndex } from '../../model/index.js';
import { mayShareNamespace, sameNamespace } from '../../model/selectors.js';

export interface BoundServiceAccount {
  name: string;
  namespace: string | undefined;
  /** Index in the binding's `subjects`. */
  index: number;
}

/** ServiceAccounts a binding grants to (including `system:serviceaccounts` groups, as `*`). */
export function boundServiceAccounts(binding: KubeObject): BoundServiceAccount[] {
  const out: BoundServiceAccount[] = [];
  asArray(binding.get(['subjects'])).forEach((subject, index) => {
    if (!isRecord(subject)) return;
    const name = asString(subject.name) ?? '';
    if (subject.kind === 'ServiceAccount') {
      out.push({ name, namespace: asString(subject.namespace) ?? binding.namespace, index });
    } else if (
      subject.kind === 'Group' &&
      (name === 'system:serviceaccounts' || name.startsWith('system:serviceaccounts:'))
    ) {
      out.push({ name: '*', namespace: name.split(':')[2], index });
    }
  });
  return out;
}

/** The Role/ClusterRole a binding refers to, when it is in the repository. */
export function referencedRole(index: ObjectIndex, binding: KubeObject): KubeObject | undefined {
  const ref = asRecord(binding.get(['roleRef']));
  const kind = asString(ref.kind);
  const name = asString(ref.name);
  if (!kind || !name) return undefined;
  return index
    .ofKind(kind)
    .find((r) => r.name === name && (kind === 'ClusterRole' || mayShareNamespace(r.namespace, binding.namespace)));
}

/** Workloads running as a ServiceAccount (`default` when unset). */
export function workloadsUsing(index: ObjectIndex, account: BoundServiceAccount): string[] {
  // `system:serviceaccounts` (no namespace) is every ServiceAccount of the cluster.
  const everywhere = account.name === '*' && account.namespace === undefined;
  return index.workloads
    .filter((w) => {
      const name = asString(w.podSpec.serviceAccountName) ?? asString(w.podSpec.serviceAccount) ?? 'default';
      return (
        (account.name === '*' || name === account.name) &&
        (everywhere || sameNamespace(w.object.namespace, account.namespace))
      );
    })
    .map((w) => w.subject);
}
