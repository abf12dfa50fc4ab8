#!/usr/bin/env node
/**
 * Generates the compact Kubernetes API schema the lint stage validates
 * manifests against (schemas/kubernetes-<minor>.json).
 *
 * Source: the OpenAPI v2 document the Kubernetes project publishes inside its
 * Go module (k8s.io/kubernetes@<version>, api/openapi-spec/swagger.json),
 * fetched with the ordinary Go tooling (`go mod download`), so the module
 * checksum database vouches for it. The output keeps only what validation
 * needs (field names, types, required lists, formats, served kinds and
 * whether they are namespaced), about 3% of the original.
 *
 * Usage:
 *   node scripts/generate-kubernetes-schema.mjs [--version 1.33.5] [--spec path/to/swagger.json]
 *
 * The OpenAPI document carries no enum values, so a short, reviewed table of
 * enumerations (ENUMS below) is added: these are API facts (the values the
 * API server accepts), written here by hand.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function arg(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

const version = arg('version', '1.33.5');
let specPath = arg('spec', undefined);
if (!specPath) {
  const out = execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${version}`], {
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-modcacherw' },
  });
  const info = JSON.parse(out);
  if (info.Error) throw new Error(info.Error);
  specPath = path.join(info.Dir, 'api/openapi-spec/swagger.json');
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const minor = version.split('.').slice(0, 2).join('.');

/** Values the API server accepts for string enumerations, keyed `<definition suffix>.<field>`. */
const ENUMS = {
  'core.v1.Container.imagePullPolicy': ['Always', 'IfNotPresent', 'Never'],
  'core.v1.EphemeralContainer.imagePullPolicy': ['Always', 'IfNotPresent', 'Never'],
  'core.v1.Container.terminationMessagePolicy': ['File', 'FallbackToLogsOnError'],
  'core.v1.Container.restartPolicy': ['Always'],
  'core.v1.ContainerPort.protocol': ['TCP', 'UDP', 'SCTP'],
  'core.v1.ServicePort.protocol': ['TCP', 'UDP', 'SCTP'],
  'core.v1.EndpointPort.protocol': ['TCP', 'UDP', 'SCTP'],
  'networking.v1.NetworkPolicyPort.protocol': ['TCP', 'UDP', 'SCTP'],
  'core.v1.PodSpec.restartPolicy': ['Always', 'OnFailure', 'Never'],
  'core.v1.PodSpec.dnsPolicy': ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
  'core.v1.PodSpec.preemptionPolicy': ['PreemptLowerPriority', 'Never'],
  'core.v1.ServiceSpec.type': ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'],
  'core.v1.ServiceSpec.externalTrafficPolicy': ['Cluster', 'Local'],
  'core.v1.ServiceSpec.internalTrafficPolicy': ['Cluster', 'Local'],
  'core.v1.ServiceSpec.sessionAffinity': ['ClientIP', 'None'],
  'core.v1.ServiceSpec.ipFamilyPolicy': ['SingleStack', 'PreferDualStack', 'RequireDualStack'],
  'core.v1.PersistentVolumeClaimSpec.volumeMode': ['Block', 'Filesystem'],
  'core.v1.SeccompProfile.type': ['Localhost', 'RuntimeDefault', 'Unconfined'],
  'core.v1.AppArmorProfile.type': ['Localhost', 'RuntimeDefault', 'Unconfined'],
  'core.v1.Toleration.operator': ['Exists', 'Equal'],
  'core.v1.Toleration.effect': ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
  'core.v1.Taint.effect': ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
  'core.v1.TopologySpreadConstraint.whenUnsatisfiable': ['DoNotSchedule', 'ScheduleAnyway'],
  'core.v1.NodeSelectorRequirement.operator': ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'],
  'core.v1.HTTPGetAction.scheme': ['HTTP', 'HTTPS'],
  'core.v1.ContainerResizePolicy.restartPolicy': ['NotRequired', 'RestartContainer'],
  'apps.v1.DeploymentStrategy.type': ['Recreate', 'RollingUpdate'],
  'apps.v1.StatefulSetUpdateStrategy.type': ['OnDelete', 'RollingUpdate'],
  'apps.v1.DaemonSetUpdateStrategy.type': ['OnDelete', 'RollingUpdate'],
  'apps.v1.StatefulSetSpec.podManagementPolicy': ['OrderedReady', 'Parallel'],
  'apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy.whenDeleted': ['Retain', 'Delete'],
  'apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy.whenScaled': ['Retain', 'Delete'],
  'batch.v1.CronJobSpec.concurrencyPolicy': ['Allow', 'Forbid', 'Replace'],
  'batch.v1.JobSpec.completionMode': ['NonIndexed', 'Indexed'],
  'batch.v1.JobSpec.podReplacementPolicy': ['TerminatingOrFailed', 'Failed'],
  'networking.v1.HTTPIngressPath.pathType': ['Exact', 'Prefix', 'ImplementationSpecific'],
  'policy.v1.PodDisruptionBudgetSpec.unhealthyPodEvictionPolicy': ['IfHealthyBudget', 'AlwaysAllow'],
  'autoscaling.v2.MetricSpec.type': ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'],
  'autoscaling.v2.MetricTarget.type': ['AverageValue', 'Utilization', 'Value'],
  'autoscaling.v2.HPAScalingRules.selectPolicy': ['Disabled', 'Max', 'Min'],
  'autoscaling.v2.HPAScalingPolicy.type': ['Percent', 'Pods'],
  'rbac.v1.Subject.kind': ['Group', 'ServiceAccount', 'User'],
};
/** Items of these arrays are enumerations too. */
const ITEM_ENUMS = {
  'networking.v1.NetworkPolicySpec.policyTypes': ['Ingress', 'Egress'],
  'core.v1.PersistentVolumeClaimSpec.accessModes': [
    'ReadOnlyMany',
    'ReadWriteMany',
    'ReadWriteOnce',
    'ReadWriteOncePod',
  ],
  'core.v1.PersistentVolumeSpec.accessModes': ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'],
};

/** Definitions whose content the lint stage does not validate (free-form or recursive meta-schemas). */
const ANY = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
]);

const defs = spec.definitions;
const shortName = (name) =>
  name
    .replace(/^io\.k8s\.api\./, '')
    .replace(/^io\.k8s\.apimachinery\.pkg\.apis\.meta\./, 'meta.')
    .replace(/^io\.k8s\.apimachinery\.pkg\./, 'machinery.')
    .replace(/^io\.k8s\.apiextensions-apiserver\.pkg\.apis\./, '')
    .replace(/^io\.k8s\.kube-aggregator\.pkg\.apis\./, '');

const types = {};
function refOf(schema, owner, field) {
  if (schema.$ref) return typeOfDef(schema.$ref.replace('#/definitions/', ''));
  if (schema['x-kubernetes-preserve-unknown-fields']) return 'any';
  const enumKey = `${shortName(owner)}.${field}`;
  switch (schema.type) {
    case 'string': {
      const values = ENUMS[enumKey];
      if (values) return { e: values };
      if (schema.format === 'byte') return 'bytes';
      if (schema.format === 'int-or-string') return 'intstr';
      return 'string';
    }
    case 'integer':
      return schema.format === 'int64' ? 'int64' : 'int32';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const itemValues = ITEM_ENUMS[enumKey];
      return { a: itemValues ? { e: itemValues } : refOf(schema.items ?? {}, owner, `${field}[]`) };
    }
    case 'object':
      if (schema.additionalProperties) return { m: refOf(schema.additionalProperties, owner, `${field}{}`) };
      return 'any';
    default:
      return 'any';
  }
}

function typeOfDef(name) {
  if (ANY.has(name)) return 'any';
  const def = defs[name];
  if (!def) throw new Error(`missing definition ${name}`);
  if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return 'quantity';
  if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') return 'intstr';
  if (def.type === 'string') return def.format === 'date-time' ? 'time' : 'string';
  if (def.type && def.type !== 'object') return refOf(def, name, '');
  if (!def.properties) return 'any';
  const id = shortName(name);
  if (!types[id]) {
    types[id] = {}; // placeholder against recursion
    const properties = {};
    for (const [field, schema] of Object.entries(def.properties)) properties[field] = refOf(schema, name, field);
    const entry = { p: properties };
    if (def.required?.length) entry.r = def.required;
    types[id] = entry;
  }
  return id;
}

// Which kinds are namespaced: the API has a `/namespaces/{namespace}/<plural>` path for them.
const namespacedKinds = new Set();
const resources = {};
for (const [p, item] of Object.entries(spec.paths)) {
  const op = item.get ?? item.post ?? item.put;
  const gvk = op?.['x-kubernetes-group-version-kind'];
  if (!gvk) continue;
  const key = `${gvk.group}/${gvk.version}/${gvk.kind}`;
  const match = /\/namespaces\/\{namespace\}\/([a-z0-9]+)(?:\/\{name\})?$/.exec(p);
  if (match) {
    namespacedKinds.add(key);
    resources[`${gvk.group}/${match[1]}`] = true;
  } else {
    const cluster = /^\/apis?\/(?:[^/]+\/)?v[^/]+\/([a-z0-9]+)(?:\/\{name\})?$/.exec(p);
    if (cluster && cluster[1] !== 'namespaces' && !resources[`${gvk.group}/${cluster[1]}`]) {
      resources[`${gvk.group}/${cluster[1]}`] = false;
    }
    if (cluster && cluster[1] === 'namespaces') resources[`${gvk.group}/namespaces`] = false;
  }
}

// Every hand-written enumeration must name a field that exists in this version.
for (const key of [...Object.keys(ENUMS), ...Object.keys(ITEM_ENUMS)]) {
  const field = key.slice(key.lastIndexOf('.') + 1);
  const owner = key.slice(0, key.lastIndexOf('.'));
  const def = Object.entries(defs).find(([name]) => shortName(name) === owner)?.[1];
  if (!def?.properties?.[field]) throw new Error(`enumeration ${key} names no field of Kubernetes ${version}`);
}

const kinds = {};
for (const [name, def] of Object.entries(defs)) {
  for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
    if (gvk.kind.endsWith('List') || name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.')) continue;
    if (!def.properties?.metadata) continue; // options and review objects, never stored
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    kinds[apiVersion] ??= {};
    kinds[apiVersion][gvk.kind] = {
      t: typeOfDef(name),
      ns: namespacedKinds.has(`${gvk.group}/${gvk.version}/${gvk.kind}`),
    };
  }
}

const sortKeys = (value) => {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys(value[k])]),
    );
  }
  return value;
};

const output = {
  kubernetesVersion: minor,
  generatedFrom: `k8s.io/kubernetes v${version} api/openapi-spec/swagger.json`,
  license: 'Derived from the Kubernetes OpenAPI specification, Copyright The Kubernetes Authors, Apache License 2.0',
  kinds: sortKeys(kinds),
  resources: sortKeys(resources),
  types: sortKeys(types),
};
const outDir = path.join(here, '..', 'schemas');
mkdirSync(outDir, { recursive: true });
const outFile = path.join(outDir, `kubernetes-${minor}.json`);
writeFileSync(outFile, `${JSON.stringify(output)}\n`);
// Format like the rest of the repository so regenerating gives no spurious diff.
try {
  execFileSync('npx', ['prettier', '--write', outFile], { stdio: 'ignore' });
} catch {
  console.warn('prettier not available: the file is valid JSON but not formatted like the committed one');
}
console.log(
  `wrote ${path.relative(process.cwd(), outFile)}: ${Object.values(kinds).reduce((n, k) => n + Object.keys(k).length, 0)} kinds, ${Object.keys(types).length} types`,
);
