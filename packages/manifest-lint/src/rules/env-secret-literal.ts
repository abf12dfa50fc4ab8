import { z } from 'zod';
import { asArray, asString, isRecord } from '../model/object.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';
import { SecretMatcher, secretPatternOptions } from './support/secret-patterns.js';

const FLAG = /^--?([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/;

export const envSecretLiteral = defineRule({
  id: 'lint/env-secret-literal',
  title: 'Secrets reach containers from Secrets, not literal values',
  rationale:
    'A password written as an env `value:` (or a command-line flag) is in git history forever, visible to anyone who can read the Deployment, and cannot be rotated without a redeploy. Reference a Secret instead.',
  severity: 'error',
  fixHint: hint(
    'Move the value into a Secret (created out of band, or sealed/encrypted) and reference it with `secretKeyRef` or `envFrom.secretRef`.',
    `
env:
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef:
        name: web-secrets
        key: db-password
envFrom:
  - secretRef:
      name: web-secrets`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables',
  options: z.object(secretPatternOptions).strict(),
  run(context, options, reporter) {
    const matcher = new SecretMatcher(options);
    // Helm hooks too: a password committed in a test pod is committed all the same.
    for (const workload of context.index.allWorkloads) {
      for (const container of allContainers(workload)) {
        reporter.examine(container.subject);
        asArray(container.value.env).forEach((entry, i) => {
          if (!isRecord(entry) || typeof entry.value !== 'string') return;
          const name = asString(entry.name) ?? '';
          const value = entry.value;
          if (matcher.isPlaceholder(value)) return;
          const inValue = matcher.secretInValue(value);
          if (inValue || (matcher.sensitiveName(name) && !matcher.notASecret(value))) {
            reporter.report({
              subject: container.subject,
              message: `Env var ${name} of container "${container.name}" (${workload.subject}) holds a literal ${inValue ? 'credential' : 'secret-looking value'}; read it from a Secret with valueFrom.secretKeyRef`,
              location: inValue
                ? workload.object.locateText([...container.path, 'env', i, 'value'], inValue)
                : containerLocation(container, ['env', i, 'value']),
            });
          }
        });
        for (const field of ['command', 'args'] as const) {
          asArray(container.value[field]).forEach((arg, i) => {
            if (typeof arg !== 'string') return;
            const flag = FLAG.exec(arg);
            const inValue = matcher.secretInValue(arg);
            const sensitiveFlag = flag && matcher.sensitiveName(flag[1]!) && !matcher.notASecret(flag[2]!);
            if (!inValue && !sensitiveFlag) return;
            reporter.report({
              subject: container.subject,
              message: `${field} of container "${container.name}" (${workload.subject}) passes a ${inValue ? 'credential' : `secret in ${flag![1]}`} on the command line; read it from a Secret (env or mounted file)`,
              location: containerLocation(container, [field, i]),
            });
          });
        }
      }
    }
  },
});
