/**
 * What the workloads refer to by name: Secrets and ConfigMaps (env, envFrom,
 * volumes, projected volumes, image pull secrets), ServiceAccounts and
 * PersistentVolumeClaims. The docs stage checks the notes against it and the
 * cluster stage creates the Secrets a lab expects to be made out of band.
 */
import type { KubeReference } from '@labgrader/core';
import type { Path } from '../yaml/parse.js';
import { asArray, asRecord, asString, type KubeObject } from './object.js';
import { allContainers, toWorkload } from './workloads.js';

interface Raw {
  kind: string;
  name: string;
  path: Path;
  from: string;
  key?: string;
  optional?: boolean;
}

function optionalFlag(value: unknown): { optional?: boolean } {
  return value === true ? { optional: true } : {};
}

function collect(object: KubeObject): Raw[] {
  const workload = toWorkload(object);
  if (!workload) return [];
  const out: Raw[] = [];
  const spec = workload.podSpec;
  const base = workload.podSpecPath;
  const add = (kind: string, value: unknown, path: Path, from: string, extra: Partial<Raw> = {}) => {
    const name = asString(value);
    if (name) out.push({ kind, name, path, from, ...extra });
  };

  const sa = spec.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount';
  add('ServiceAccount', spec[sa], [...base, sa], workload.subject);
  asArray(spec.imagePullSecrets).forEach((s, i) =>
    add('Secret', asRecord(s).name, [...base, 'imagePullSecrets', i, 'name'], workload.subject),
  );
  asArray(spec.volumes).forEach((v, i) => {
    const volume = asRecord(v);
    const at: Path = [...base, 'volumes', i];
    const secret = asRecord(volume.secret);
    add('Secret', secret.secretName, [...at, 'secret', 'secretName'], workload.subject, optionalFlag(secret.optional));
    const configMap = asRecord(volume.configMap);
    add('ConfigMap', configMap.name, [...at, 'configMap', 'name'], workload.subject, optionalFlag(configMap.optional));
    add(
      'PersistentVolumeClaim',
      asRecord(volume.persistentVolumeClaim).claimName,
      [...at, 'persistentVolumeClaim', 'claimName'],
      workload.subject,
    );
    asArray(asRecord(volume.projected).sources).forEach((source, j) => {
      for (const [field, kind] of [
        ['secret', 'Secret'],
        ['configMap', 'ConfigMap'],
      ] as const) {
        const ref = asRecord(asRecord(source)[field]);
        add(
          kind,
          ref.name,
          [...at, 'projected', 'sources', j, field, 'name'],
          workload.subject,
          optionalFlag(ref.optional),
        );
      }
    });
  });
  for (const container of allContainers(workload)) {
    asArray(container.value.env).forEach((e, i) => {
      const valueFrom = asRecord(asRecord(e).valueFrom);
      for (const [field, kind] of [
        ['secretKeyRef', 'Secret'],
        ['configMapKeyRef', 'ConfigMap'],
      ] as const) {
        const ref = asRecord(valueFrom[field]);
        const key = asString(ref.key);
        add(kind, ref.name, [...container.path, 'env', i, 'valueFrom', field, 'name'], container.subject, {
          ...(key ? { key } : {}),
          ...optionalFlag(ref.optional),
        });
      }
    });
    asArray(container.value.envFrom).forEach((e, i) => {
      for (const [field, kind] of [
        ['secretRef', 'Secret'],
        ['configMapRef', 'ConfigMap'],
      ] as const) {
        const ref = asRecord(asRecord(e)[field]);
        add(
          kind,
          ref.name,
          [...container.path, 'envFrom', i, field, 'name'],
          container.subject,
          optionalFlag(ref.optional),
        );
      }
    });
  }
  return out;
}

export function referencesOf(objects: readonly KubeObject[]): KubeReference[] {
  const defined = new Set(objects.map((o) => `${o.kind}/${o.namespace ?? ''}/${o.name}`));
  const isDefined = (kind: string, namespace: string | undefined, name: string) =>
    defined.has(`${kind}/${namespace ?? ''}/${name}`) ||
    // An object without a namespace is applied into whatever namespace the workload uses.
    defined.has(`${kind}//${name}`);
  const out: KubeReference[] = [];
  for (const object of objects) {
    for (const raw of collect(object)) {
      out.push({
        kind: raw.kind,
        name: raw.name,
        ...(object.namespace ? { namespace: object.namespace } : {}),
        location: object.locate(raw.path),
        defined: isDefined(raw.kind, object.namespace, raw.name),
        ...(raw.key ? { key: raw.key } : {}),
        ...(raw.optional ? { optional: true } : {}),
        from: raw.from,
      });
    }
  }
  return out;
}
