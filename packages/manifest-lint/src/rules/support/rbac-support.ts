/** RBAC lookups shared by the RBAC rules. */
import type { SourceLocation } from '@labgrader/core';
import { asArray, asRecord, asString, isRecord, type KubeObject } from '../../model/object.js';
import type { ObjectIndex } from '../../model/index.js';
import { mayShareNamespace, namespaceOf, sameNamespace } from '../../model/selectors.js';
import type { Path } from '../../yaml/parse.js';

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

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * Why the API server refuses a binding's roleRef (its validation, not the
 * schema's: both fields are plain strings there), with the path of the field.
 */
export function refusedRoleRef(binding: KubeObject): { path: Path; message: string } | undefined {
  const ref = binding.get(['roleRef']);
  if (!isRecord(ref)) return undefined;
  if ('apiGroup' in ref && ref.apiGroup !== RBAC_GROUP) {
    const written = ref.apiGroup === null ? '' : String(ref.apiGroup);
    const versioned = written.startsWith(`${RBAC_GROUP}/`) ? ' (the group alone, without its version)' : '';
    return {
      path: ['roleRef', 'apiGroup'],
      message: `roleRef.apiGroup must be "${RBAC_GROUP}"${versioned}, not ${JSON.stringify(written)}`,
    };
  }
  const kinds = binding.kind === 'ClusterRoleBinding' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (typeof ref.kind === 'string' && !kinds.includes(ref.kind)) {
    return {
      path: ['roleRef', 'kind'],
      message: `roleRef.kind must be ${kinds.map((k) => `"${k}"`).join(' or ')} in a ${binding.kind}, not ${JSON.stringify(ref.kind)}`,
    };
  }
  return undefined;
}

/** Built-in ClusterRoles that read every Secret (`view` does not). */
const BUILTIN_SECRET_READERS = new Set(['admin', 'edit', 'cluster-admin']);
const READ_VERBS = ['get', 'list', 'watch'];

export interface SecretRead {
  /** `get, list` or `*`. */
  verbs: string;
  /** Where the role grants it, when the role is in the repository. */
  location?: SourceLocation;
}

/**
 * Whether a binding's role reads every Secret of its scope: a rule for the
 * core group (or `*`) on `secrets` (or `*`) with get, list or watch (or `*`)
 * and no resourceNames. Roles the repository does not define: the built-in
 * admin, edit and cluster-admin do; anything else is unknown (no).
 */
export function readsEverySecret(index: ObjectIndex, binding: KubeObject): SecretRead | undefined {
  const role = referencedRole(index, binding);
  if (!role) {
    const ref = asRecord(binding.get(['roleRef']));
    return ref.kind === 'ClusterRole' && BUILTIN_SECRET_READERS.has(asString(ref.name) ?? '')
      ? { verbs: 'get, list, watch' }
      : undefined;
  }
  let found: SecretRead | undefined;
  asArray(role.get(['rules'])).forEach((rule, r) => {
    if (found || !isRecord(rule)) return;
    if (asArray(rule.resourceNames).length > 0) return;
    const groups = asArray(rule.apiGroups);
    if (!groups.includes('') && !groups.includes('*')) return;
    const resources = asArray(rule.resources);
    const at = resources.findIndex((x) => x === 'secrets' || x === '*');
    if (at < 0) return;
    const verbs = asArray(rule.verbs).map(String);
    const reads = verbs.includes('*') ? ['*'] : READ_VERBS.filter((v) => verbs.includes(v));
    if (reads.length === 0) return;
    found = { verbs: reads.join(', '), location: role.locate(['rules', r, 'resources', at]) };
  });
  return found;
}

/**
 * Subjects of a binding that most pods of a namespace run as: the `default`
 * ServiceAccount (every pod that names none), a `system:serviceaccounts`
 * group, or the one ServiceAccount that every workload (two or more) of its
 * namespace names. With who runs as it, for a message.
 */
export function sharedIdentities(
  index: ObjectIndex,
  binding: KubeObject,
): Array<{ account: BoundServiceAccount; who: string }> {
  const out: Array<{ account: BoundServiceAccount; who: string }> = [];
  for (const account of boundServiceAccounts(binding)) {
    const ns = namespaceOf(account.namespace);
    const users = workloadsUsing(index, account);
    const shown = users.length
      ? ` (${users.slice(0, 3).join(', ')}${users.length > 3 ? `, and ${users.length - 3} more` : ''})`
      : '';
    if (account.name === '*') {
      const group = `system:serviceaccounts${account.namespace === undefined ? '' : `:${account.namespace}`}`;
      out.push({
        account,
        who:
          account.namespace === undefined
            ? `every ServiceAccount of the cluster (group ${group}), that is every pod of every namespace${shown}`
            : `every ServiceAccount of namespace ${ns} (group ${group}), that is every pod there${shown}`,
      });
    } else if (account.name === 'default') {
      out.push({
        account,
        who: `ServiceAccount default, which every pod of namespace ${ns} without a serviceAccountName runs as${shown}`,
      });
    } else {
      const local = index.workloads.filter((w) => sameNamespace(w.object.namespace, account.namespace));
      if (local.length >= 2 && users.length === local.length) {
        out.push({
          account,
          who: `ServiceAccount ${account.name}, which every workload of namespace ${ns} runs as${shown}`,
        });
      }
    }
  }
  return out;
}
