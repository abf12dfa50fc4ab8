import { z } from 'zod';
import { asArray, asRecord, asString, isRecord } from '../model/object.js';
import type { Path } from '../yaml/parse.js';
import { boundServiceAccounts, referencedRole, workloadsUsing } from './support/rbac-support.js';
import { defineRule, hint } from './support/rule.js';

export const rbacPrivileged = defineRule({
  id: 'lint/rbac-privileged',
  title: 'ServiceAccounts are not bound to admin or wildcard roles',
  rationale:
    "A pod runs with its ServiceAccount's permissions: bound to cluster-admin, or to a role with `*` verbs or resources, one exploited bug in the app gives the attacker the whole cluster (read every Secret, start privileged pods).",
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
      const accounts = boundServiceAccounts(binding);
      if (accounts.length === 0) continue;
      const subject = binding.ref;
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
          message: `${subject} gives ${accountNames}${usedBy} the ${roleName} role${binding.kind === 'ClusterRoleBinding' ? ' across the whole cluster' : ''}`,
          location: binding.locate(['roleRef', 'name']),
        });
        continue;
      }
      if (!options.flagWildcards) continue;
      const role = referencedRole(context.index, binding);
      if (!role) continue;
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
      if (!wildcard) continue;
      const where = role.locate(wildcard.path);
      reporter.report({
        subject,
        message: `${subject} gives ${accountNames}${usedBy} ${role.ref}, which grants "*" ${wildcard.field} (${where.file}:${where.line})`,
        location: binding.locate(['roleRef', 'name']),
      });
    }
  },
});
