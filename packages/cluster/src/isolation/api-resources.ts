/**
 * Which kinds the target cluster serves, and whether each is namespaced: read
 * from the cluster's own API discovery (`kubectl api-resources`), never from a
 * hard-coded list, so cluster-scoped custom resources (ClusterIssuer,
 * GatewayClass…), FlowSchemas and whatever the next Kubernetes adds are
 * recognised as what they are.
 *
 * Before the cluster exists (planning, tests), the bundled Kubernetes schema of
 * manifest-lint answers the same question for the built-in kinds.
 */
import { loadKubeSchema, DEFAULT_KUBERNETES_VERSION } from '@labgrader/manifest-lint';

export type Scope = 'namespaced' | 'cluster';

export interface ApiResource {
  /** Plural resource name (`deployments`), as RBAC rules name it. */
  name: string;
  /** API group, '' for the core group. */
  group: string;
  /** Preferred version served for it. */
  version: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

export interface ApiScopes {
  /** Whether objects of this apiVersion/kind are namespaced; undefined when the cluster does not serve it. */
  scopeOf(apiVersion: string, kind: string): Scope | undefined;
  /** Whether an RBAC resource (`apps`, `deployments`) is namespaced; undefined when unknown. */
  resourceScope(group: string, resource: string): Scope | undefined;
  /** Where the answers come from, for messages. */
  readonly source: string;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Parses `kubectl api-resources -o wide` (header line, then fixed columns:
 * NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS [CATEGORIES]). Columns are
 * located from the header, since SHORTNAMES is often empty.
 */
export function parseApiResources(text: string): ApiResource[] {
  const lines = text.split('\n').filter((l) => l.trim());
  const header = lines.shift();
  if (!header) return [];
  const columns = ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', 'VERBS', 'CATEGORIES'];
  const starts = columns.map((c) => header.search(new RegExp(`\\b${c}\\b`)));
  const field = (line: string, i: number): string => {
    const start = starts[i]!;
    if (start < 0) return '';
    const next = starts.slice(i + 1).find((s) => s > start);
    return line.slice(start, next ?? line.length).trim();
  };
  const resources: ApiResource[] = [];
  for (const line of lines) {
    const name = field(line, 0);
    const apiVersion = field(line, 2);
    const kind = field(line, 4);
    if (!name || !apiVersion || !kind) continue;
    const verbs = field(line, 5)
      .replace(/^\[|\]$/g, '')
      .split(/[\s,]+/)
      .filter(Boolean);
    resources.push({
      name,
      group: groupOf(apiVersion),
      version: apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion,
      kind,
      namespaced: field(line, 3) === 'true',
      verbs,
    });
  }
  return resources;
}

/** Scopes from the cluster's discovery. A kind is served when its group serves it (any version kubectl listed). */
export function scopesFromDiscovery(resources: readonly ApiResource[], source: string): ApiScopes {
  const byKind = new Map<string, Scope>();
  const byResource = new Map<string, Scope>();
  for (const r of resources) {
    const scope: Scope = r.namespaced ? 'namespaced' : 'cluster';
    byKind.set(`${r.group}\u0000${r.kind}`, scope);
    byResource.set(`${r.group}\u0000${r.name}`, scope);
  }
  return {
    source,
    scopeOf: (apiVersion, kind) => byKind.get(`${groupOf(apiVersion)}\u0000${kind}`),
    resourceScope: (group, resource) => byResource.get(`${group}\u0000${resource.split('/')[0]}`),
  };
}

/** Scopes of the built-in kinds, from the bundled Kubernetes schema (planning before a cluster exists, tests). */
export function bundledScopes(version = DEFAULT_KUBERNETES_VERSION): ApiScopes {
  const schema = loadKubeSchema(version);
  return {
    source: `the bundled Kubernetes ${schema.version} schema`,
    scopeOf(apiVersion, kind) {
      const info = schema.kind(apiVersion, kind);
      if (info) return info.ns ? 'namespaced' : 'cluster';
      // Another version of the same group may know it (kubectl would convert).
      const group = groupOf(apiVersion);
      for (const served of schema.servingVersions(kind)) {
        if (groupOf(served) === group) return schema.kind(served, kind)!.ns ? 'namespaced' : 'cluster';
      }
      return undefined;
    },
    resourceScope(group, resource) {
      const ns = schema.resourceNamespaced(group, resource.split('/')[0]!);
      return ns === undefined ? undefined : ns ? 'namespaced' : 'cluster';
    },
  };
}
