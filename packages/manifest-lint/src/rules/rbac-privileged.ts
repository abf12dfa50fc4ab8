import { z } from 'zod';
import { asArray, asRecord, asString, isRecord } from '../model/object.js';
import type { Path } from '../yaml/parse.js';
import { namespaceOf } from '../model/selectors.js';
import {
  boundServiceAccounts,
  readsEverySecret,
  referencedRole,
  refusedRoleRef,
  sharedIdentities,
  workloadsUsing,
} from './support/rbac-support.js';
import { defineRule, hint } from './support/rule.js';

const REFUSED_HINT = hint(
  'A roleRef names the RBAC API group (without a version) and a Role or ClusterRole (a ClusterRoleBinding only a ClusterRole).',
  `
roleRef:
  apiGroup: rbac.authorization.k8s.io   # not "" nor rbac.authorization.k8s.io/v1
  kind: Role
  name: web-read-config`,
);

const SHARED_SECRETS_HINT = hint(
  'Give the workload that needs a Secret a ServiceAccount of its own (serviceAccountName), and let its Role read only that Secret with resourceNames; the default ServiceAccount, which every pod without serviceAccountName runs as, should be bound to nothing.',
  `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: web-read-db-credentials
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["db-credentials"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-read-db-credentials
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: web-read-db-credentials
subjects:
  - kind: ServiceAccount
    name: web   # and spec.template.spec.serviceAccountName: web in its Deployment`,
);

export const rbacPrivileged = defineRule({
  id: 'lint/rbac-privileged',
  title: 'ServiceAccounts are not bound to admin or wildcard roles',
  rationale:
    "A pod runs with its ServiceAccount's permissions: bound to cluster-admin, or to a role with `*` verbs or resources, one exploited bug in the app gives the attacker the whole cluster (read every Secret, start privileged pods). Reading Secrets granted to the `default` ServiceAccount (or to every ServiceAccount) goes to every pod of the namespace that names no ServiceAccount. A binding whose roleRef the API server refuses grants nothing at all.",
  severity: 'error',
  fixHint: hint(
    'Grant only the verbs and resources the app uses, in its own namespace.',
    `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: web-read-config
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "watch"]`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege',
  options: z
    .object({
      /** Built-in or custom role names that are too powerful for a workload. */
      dangerousRoles: z.array(z.string()).default(['cluster-admin']),
      /** Report roles with `*` in verbs, resources or apiGroups. */
      flagWildcards: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const binding of context.index.ofKind('RoleBinding', 'ClusterRoleBinding')) {
      const subject = binding.ref;
      const refused = refusedRoleRef(binding);
      if (refused) {
        // Whoever it names: the binding does not exist, so it grants nothing.
        reporter.examine(subject);
        reporter.report({
          subject,
          message: `The API server refuses ${subject}: ${refused.message} (the binding is never created and grants nothing)`,
          location: binding.locate(refused.path),
          fixHint: REFUSED_HINT,
        });
      }
      const accounts = boundServiceAccounts(binding);
      if (accounts.length === 0) continue;
      // A refused binding grants nothing yet; what it would grant once fixed is said as such, not as a fact.
      const gives = refused ? 'would give, once its roleRef is fixed,' : 'gives';
      const grants = refused ? 'would grant, once its roleRef is fixed,' : 'grants';
      reporter.examine(subject);
      const roleName = asString(binding.get(['roleRef', 'name'])) ?? '';
      const users = [...new Set(accounts.flatMap((a) => workloadsUsing(context.index, a)))];
      const usedBy = users.length ? ` (used by ${users.slice(0, 3).join(', ')})` : '';
      const accountNames = accounts
        .map((a) =>
          a.name === '*' ? `all ServiceAccounts${a.namespace ? ` of ${a.namespace}` : ''}` : `ServiceAccount ${a.name}`,
        )
        .join(', ');
      if (options.dangerousRoles.includes(roleName)) {
        reporter.report({
          subject,
          message: `${subject} ${gives} ${accountNames}${usedBy} the ${roleName} role${binding.kind === 'ClusterRoleBinding' ? ' across the whole cluster' : ''}`,
          location: binding.locate(['roleRef', 'name']),
        });
        continue;
      }
      const role = referencedRole(context.index, binding);
      if (options.flagWildcards && role) {
        let wildcard: { path: Path; field: string } | undefined;
        asArray(role.get(['rules'])).forEach((rule, r) => {
          if (wildcard || !isRecord(rule)) return;
          for (const field of ['verbs', 'resources', 'apiGroups'] as const) {
            const i = asArray(asRecord(rule)[field]).indexOf('*');
            if (i >= 0) {
              wildcard = { path: ['rules', r, field, i], field };
              return;
            }
          }
        });
        if (wildcard) {
          const where = role.locate(wildcard.path);
          reporter.report({
            subject,
            message: `${subject} ${gives} ${accountNames}${usedBy} ${role.ref}, which grants "*" ${wildcard.field} (${where.file}:${where.line})`,
            location: binding.locate(['roleRef', 'name']),
          });
        }
      }
      // Reading every Secret is fine for a workload's own identity, not for the one every pod shares.
      const secrets = readsEverySecret(context.index, binding);
      if (!secrets) continue;
      const granted = role
        ? `${role.ref} (${secrets.verbs} on Secrets${secrets.location ? `, ${secrets.location.file}:${secrets.location.line}` : ''})`
        : `the built-in ClusterRole ${roleName} (${secrets.verbs} on Secrets)`;
      const scope =
        binding.kind === 'ClusterRoleBinding'
          ? 'every Secret of every namespace'
          : `every Secret of namespace ${namespaceOf(binding.namespace)}`;
      for (const { account, who } of sharedIdentities(context.index, binding)) {
        reporter.report({
          subject,
          message: `${subject} ${grants} ${granted} to ${who}: any of those pods can read ${scope}, credentials meant for other workloads included`,
          location: binding.locate(['subjects', account.index, 'name']),
          fixHint: SHARED_SECRETS_HINT,
        });
      }
    }
  },
});
