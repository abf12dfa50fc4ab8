import { z } from 'zod';
import { asRecord, asString } from '../model/object.js';
import { defineRule, hint } from './support/rule.js';
import { DEFAULT_PLACEHOLDERS } from './support/secret-patterns.js';

function decodeBase64(value: string): string | undefined {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

export const secretCommitted = defineRule({
  id: 'lint/secret-committed',
  title: 'No real secret values are committed',
  rationale:
    'A Secret manifest in git publishes its values to everyone with read access, forever (history keeps them after deletion). base64 in `data:` is an encoding, not encryption: `base64 -d` reveals it.',
  severity: 'error',
  fixHint: hint(
    'Commit an encrypted form instead (Sealed Secrets, SOPS, External Secrets), or create the Secret out of band (`kubectl create secret ...`) and commit only placeholders.',
    `
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: web-secrets
spec:
  encryptedData:
    api-token: AgBy3i4OJSWK+PiTySYZZA...   # encrypted, safe to commit`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/security/secrets-good-practices/',
  options: z
    .object({
      /** Decoded values matching these are placeholders (fine to commit). */
      placeholders: z.array(z.string()).default(DEFAULT_PLACEHOLDERS),
      /** Secret types that never carry sensitive data. */
      allowTypes: z.array(z.string()).default(['kubernetes.io/service-account-token']),
    })
    .strict(),
  run(context, options, reporter) {
    const placeholders = options.placeholders.map((p) => new RegExp(p, 'i'));
    const isPlaceholder = (v: string) => placeholders.some((r) => r.test(v.trim()));
    for (const secret of context.index.ofKind('Secret')) {
      if (secret.apiVersion !== 'v1') continue;
      const subject = secret.ref;
      reporter.examine(subject);
      if (options.allowTypes.includes(asString(secret.get(['type'])) ?? 'Opaque')) continue;
      for (const field of ['data', 'stringData'] as const) {
        for (const [key, raw] of Object.entries(asRecord(secret.get([field])))) {
          if (typeof raw !== 'string') continue;
          const value = field === 'data' ? decodeBase64(raw) : raw;
          if (value === undefined || isPlaceholder(value)) continue;
          reporter.report({
            subject,
            message:
              field === 'data'
                ? `${subject} commits ${key} (base64 is an encoding, not encryption: anyone can decode it); commit a sealed or external secret instead`
                : `${subject} commits ${key} in plain text (stringData); commit a sealed or external secret instead`,
            location: secret.locate([field, key]),
          });
        }
      }
    }
  },
});
