/**
 * The Secrets a lab expects to be created out of band (`kubectl create secret
 * generic web-secrets --from-literal=api-token=…`), synthesized with random
 * values so the lab can start. The values exist only in the cluster and in a
 * Redactor that scrubs them from anything the stage reports or logs.
 */
import { redactSecrets } from '@labgrader/core';
import { JOB_LABEL, MANAGED_BY, type Json, type NamespaceMapping, type PlannedSecret } from './plan.js';

/** Scrubs known secret values (and the usual credential patterns) from text. */
export class Redactor {
  private readonly values = new Set<string>();

  add(value: string): void {
    if (value.length >= 8) this.values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      out = out.split(value).join('[REDACTED]');
      const b64 = Buffer.from(value).toString('base64');
      out = out.split(b64).join('[REDACTED]');
    }
    return redactSecrets(out);
  }
}

export const SYNTHESIZED_ANNOTATION = 'labgrader.dev/synthesized';

/** One random value: 32 URL-safe characters (24 random bytes). */
export function randomValue(randomBytes: (n: number) => Uint8Array): string {
  return Buffer.from(randomBytes(24)).toString('base64url');
}

/** The Secret objects to create, with random values registered in the redactor. */
export function secretManifests(
  secrets: readonly PlannedSecret[],
  mapping: NamespaceMapping,
  randomBytes: (n: number) => Uint8Array,
  redactor: Redactor,
): Json[] {
  return secrets.map((secret) => {
    const data: Record<string, string> = {};
    for (const key of secret.keys) {
      const value = randomValue(randomBytes);
      redactor.add(value);
      data[key] = Buffer.from(value).toString('base64');
    }
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secret.name,
        namespace: secret.namespace,
        labels: { ...MANAGED_BY, ...(mapping.mode === 'existing' ? { [JOB_LABEL]: mapping.job } : {}) },
        annotations: {
          [SYNTHESIZED_ANNOTATION]:
            'random values: the lab expects this Secret to be created out of band, so labgrader made one',
        },
      },
      type: 'Opaque',
      data,
    };
  });
}
