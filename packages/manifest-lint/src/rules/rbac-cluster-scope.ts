import { z } from 'zod';
import { asArray, asString, isRecord } from '../model/object.js';
import { boundServiceAccounts, referencedRole } from './support/rbac-support.js';
import { defineRule, hint } from './support/rule.js';

/** Built-in ClusterRoles meant to be granted per namespace. */
const NAMESPACE_ROLES = new Set(['view', 'edit', 'admin']);

export const rbacClusterScope = defineRule({
  id: 'lint/rbac-cluster-scope',
  title: 'Namespaced permissions are granted per namespace',
  rationale:
    "A ClusterRoleBinding grants its role in every namespace, present and future. When the role only concerns namespaced resources (pods, configmaps, secrets...), a RoleBinding in the app's namespace gives the same access without exposing every other team.",
  severity: 'warning',
  fixHint: hint(
    'Bind with a RoleBinding in the namespace that needs it (it may still reference a ClusterRole).',
    `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-read-config
  namespace: lab85
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
  - kind: ServiceAccount
    name: web
    namespace: lab85`,
  ),
  docsUrl: 'https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const binding of context.index.ofKind('ClusterRoleBinding')) {
      if (boundServiceAccounts(binding).length === 0) continue;
      const subject = binding.ref;
      reporter.examine(subject);
      const roleName = asString(binding.get(['roleRef', 'name'])) ?? '';
      const role = referencedRole(context.index, binding);
      let namespacedOnly: boolean;
      if (role) {
        const rules = asArray(role.get(['rules'])).filter(isRecord);
        namespacedOnly =
          rules.length > 0 &&
          rules.every((rule) => {
            if (asArray(rule.nonResourceURLs).length > 0) return false;
            const groups = asArray(rule.apiGroups).map(String);
            const resources = asArray(rule.resources).map((r) => String(r).split('/')[0]!);
            if (groups.length === 0 || resources.length === 0) return false;
            return groups.every((g) => resources.every((r) => context.schema.resourceNamespaced(g, r) === true));
          });
      } else {
        namespacedOnly = NAMESPACE_ROLES.has(roleName);
      }
      if (!namespacedOnly) continue;
      reporter.report({
        subject,
        message: `${subject} grants ${role ? role.ref : `ClusterRole ${roleName}`}, which only covers namespaced resources, in every namespace; a RoleBinding in the app's namespace is enough`,
        location: binding.locate(['kind']),
      });
    }
  },
});
