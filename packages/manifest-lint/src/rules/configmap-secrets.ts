import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { defineRule, hint } from './support/rule.js';
import { ASSIGNMENT, SecretMatcher, secretPatternOptions } from './support/secret-patterns.js';

export const configMapSecrets = defineRule({
  id: 'lint/configmap-secrets',
  title: 'ConfigMaps hold no secrets',
  rationale:
    'ConfigMaps are not access-controlled like Secrets (any workload or user allowed to read configuration reads them), are printed by `kubectl describe`, and are committed in plain text. Passwords and keys belong in Secrets.',
  severity: 'error',
  fixHint: hint(
    'Keep non-secret settings in the ConfigMap and move the secret value to a Secret; mount or reference both.',
    `
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  DB_HOST: postgres
  DB_USER: app
# DB_PASSWORD lives in a Secret (sealed, or created out of band)`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/configmap/',
  options: z.object(secretPatternOptions).strict(),
  run(context, options, reporter) {
    const matcher = new SecretMatcher(options);
    for (const configMap of context.index.ofKind('ConfigMap')) {
      const subject = configMap.ref;
      reporter.examine(subject);
      for (const [key, raw] of Object.entries(asRecord(configMap.get(['data'])))) {
        if (typeof raw !== 'string') continue;
        const path = ['data', key];
        const inValue = matcher.secretInValue(raw);
        if (inValue) {
          reporter.report({
            subject,
            message: `${subject} key "${key}" contains a credential; move it to a Secret`,
            location: configMap.locateText(path, inValue),
          });
          continue;
        }
        if (!raw.includes('\n')) {
          if (matcher.sensitiveName(key) && !matcher.notASecret(raw)) {
            reporter.report({
              subject,
              message: `${subject} key "${key}" looks like a secret; move it to a Secret`,
              location: configMap.locate(path),
            });
          }
          continue;
        }
        // An embedded config file: look for `password = ...` style lines.
        for (const line of raw.split('\n')) {
          const match = ASSIGNMENT.exec(line);
          if (!match || !matcher.sensitiveName(match[1]!) || matcher.notASecret(match[2]!)) continue;
          reporter.report({
            subject,
            message: `${subject} key "${key}" sets ${match[1]} in plain text; move the value to a Secret and mount it`,
            location: configMap.locateText(path, line.trim()),
          });
        }
      }
    }
  },
});
