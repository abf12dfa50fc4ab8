/**
 * Kustomize: reading kustomization files to learn which files they consume,
 * choosing the top-level kustomizations (overlays), rendering them with
 * `kubectl kustomize`, and mapping each rendered object back to the
 * resource file (and patches) it came from, so findings point at lines the
 * student wrote rather than at generated output.
 */
import type { SourceLocation } from '@labgrader/core';
import { yamlProblemLocation, type LoadedFile } from '../files.js';
import { asArray, asString, isRecord, type Json, type ObjectSource } from '../model/object.js';
import { looksLikeObject } from '../objects.js';
import {
  checkLocalPath,
  fileSourcePath,
  isInlinePatch,
  vetKustomization,
  type Refusal,
} from './kustomization-policy.js';

export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function dirOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}

export function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

export interface KustomizationRef {
  /** Key it appears under (resources, patches...). */
  field: string;
  /** Entry as written. */
  entry: string;
  /** Where the entry is written. */
  location: SourceLocation;
}

/** What a repository path is, symlinks (inside the repository) followed: its real path. */
export type ResolvePath = (path: string) => { type: 'file' | 'dir'; path: string } | undefined;

export interface Kustomization {
  file: string;
  dir: string;
  loaded: LoadedFile;
  value: Json;
  /** Files listed as resources (consumed: linted through rendering). */
  resourceFiles: string[];
  /** Directories listed as resources/bases/components (other kustomizations), by real path. */
  childDirs: string[];
  /** Strategic-merge patch files. */
  patchFiles: string[];
  /** Files read by generators, replacements, configurations, openapi (not Kubernetes objects). */
  inputFiles: string[];
  /** Entries and fields labgrader does not let kustomize read (remote, outside, plugins, unknown fields). */
  refused: Refusal[];
  /** Entries pointing at nothing in the repository. */
  broken: KustomizationRef[];
  /** Locations of transformer fields, keyed by the object field they change. */
  transformerFields: Map<string, SourceLocation>;
}

/** Reads a parsed kustomization file; `resolve` answers whether a repo path is a file or a directory. */
export function readKustomization(loaded: LoadedFile, resolve: ResolvePath): Kustomization {
  const value = isRecord(loaded.parsed.documents[0]?.value) ? (loaded.parsed.documents[0]!.value as Json) : {};
  const doc = loaded.documents[0];
  const dir = dirOf(loaded.path);
  const k: Kustomization = {
    file: loaded.path,
    dir,
    loaded,
    value,
    resourceFiles: [],
    childDirs: [],
    patchFiles: [],
    inputFiles: [],
    refused: refusalsOf(loaded, dir),
    broken: [],
    transformerFields: new Map(),
  };
  const locate = (path: (string | number)[]): SourceLocation => {
    return doc ? doc.locationOf(doc.walk(path), 'value') : { file: loaded.path, line: 1, column: 1 };
  };
  const consider = (field: string, entry: string, path: (string | number)[], kind: 'resource' | 'patch' | 'input') => {
    const check = checkLocalPath(entry, dir);
    if (!check.ok) return; // refused (remote, absolute, outside): reported by refusalsOf
    const found = resolve(check.target);
    if (found?.type === 'dir' && kind === 'resource') k.childDirs.push(found.path);
    else if (found?.type === 'file')
      (kind === 'resource' ? k.resourceFiles : kind === 'patch' ? k.patchFiles : k.inputFiles).push(check.target);
    // kustomize reports missing inputs itself; a missing resource or patch is reported here, at its line.
    else if (kind !== 'input') k.broken.push({ field, entry, location: locate(path) });
  };
  for (const field of ['resources', 'bases', 'components', 'crds']) {
    asArray(value[field]).forEach((entry, i) => {
      if (typeof entry === 'string') consider(field, entry, [field, i], 'resource');
    });
  }
  asArray(value.patchesStrategicMerge).forEach((entry, i) => {
    // Entries are file paths or inline YAML.
    if (typeof entry === 'string' && !isInlinePatch(entry))
      consider('patchesStrategicMerge', entry, ['patchesStrategicMerge', i], 'patch');
  });
  for (const field of ['patches', 'patchesJson6902']) {
    asArray(value[field]).forEach((entry, i) => {
      if (isRecord(entry) && typeof entry.path === 'string') consider(field, entry.path, [field, i, 'path'], 'patch');
    });
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    asArray(value[field]).forEach((gen, i) => {
      if (!isRecord(gen)) return;
      asArray(gen.files).forEach((f, j) => {
        if (typeof f === 'string') consider(field, fileSourcePath(f), [field, i, 'files', j], 'input');
      });
      asArray(gen.envs).forEach((f, j) => {
        if (typeof f === 'string') consider(field, f, [field, i, 'envs', j], 'input');
      });
      if (typeof gen.env === 'string') consider(field, gen.env, [field, i, 'env'], 'input');
    });
  }
  asArray(value.replacements).forEach((r, i) => {
    if (isRecord(r) && typeof r.path === 'string')
      consider('replacements', r.path, ['replacements', i, 'path'], 'input');
  });
  asArray(value.configurations).forEach((c, i) => {
    if (typeof c === 'string') consider('configurations', c, ['configurations', i], 'input');
  });
  if (isRecord(value.openapi) && typeof value.openapi.path === 'string')
    consider('openapi', value.openapi.path, ['openapi', 'path'], 'input');
  const transformer = (key: string, fields: string[]) => {
    if (value[key] === undefined || !doc) return;
    const hit = doc.walk([key]);
    if (hit.depth === 0) return;
    const location = doc.locationOf(hit, 'key');
    for (const f of fields) if (!k.transformerFields.has(f)) k.transformerFields.set(f, location);
  };
  transformer('images', ['image']);
  transformer('replicas', ['replicas']);
  transformer('namespace', ['namespace']);
  transformer('namePrefix', ['name']);
  transformer('nameSuffix', ['name']);
  transformer('commonLabels', ['labels', 'matchLabels', 'selector']);
  transformer('labels', ['labels']);
  transformer('commonAnnotations', ['annotations']);
  // Generated objects have no source file: point at their generator.
  transformer('configMapGenerator', ['@ConfigMap']);
  transformer('secretGenerator', ['@Secret']);
  // Inline patches (strategic or JSON 6902) can change any field: '*' points at them when nothing more precise does.
  for (const field of ['patches', 'patchesJson6902']) {
    if (asArray(value[field]).some((p) => isRecord(p) && typeof p.patch === 'string')) transformer(field, ['*']);
  }
  return k;
}

/**
 * Every refusal in a kustomization file. All its documents are checked (kustomize reads
 * the first, our parser may count documents differently). A file with YAML errors is
 * refused whole: what we parsed may not be what kustomize would read.
 */
function refusalsOf(loaded: LoadedFile, dir: string): Refusal[] {
  const errors = [...loaded.parsed.problems, ...loaded.parsed.documents.flatMap((d) => d.problems)].filter(
    (p) => p.level === 'error',
  );
  if (errors.length > 0) {
    return [
      {
        field: '',
        entry: loaded.path,
        location: yamlProblemLocation(loaded.source, errors[0]!),
        message: `${loaded.path} has YAML errors (reported by lint/yaml-valid), so labgrader cannot check what kustomize would read from it and did not render it; fix the YAML first`,
      },
    ];
  }
  return loaded.parsed.documents.flatMap((parsed, i) =>
    vetKustomization(loaded.path, dir, loaded.documents[i], parsed.value),
  );
}

/** Kustomizations reachable from a root (itself included), depth-first, cycles ignored. */
export function reachable(root: Kustomization, byDir: ReadonlyMap<string, Kustomization>): Kustomization[] {
  const out: Kustomization[] = [];
  const seen = new Set<string>();
  const visit = (k: Kustomization) => {
    if (seen.has(k.dir)) return;
    seen.add(k.dir);
    out.push(k);
    for (const child of k.childDirs) {
      const next = byDir.get(child);
      if (next) visit(next);
    }
  };
  visit(root);
  return out;
}

export interface SourcePool {
  objects: Map<string, ObjectSource[]>;
  patches: Map<string, ObjectSource[]>;
}

function poolKey(kind: string, name: string): string {
  return `${kind}\u0000${name}`;
}

export function addToPool(pool: Map<string, ObjectSource[]>, file: LoadedFile, role: 'object' | 'patch'): void {
  file.parsed.documents.forEach((parsed, i) => {
    const value = parsed.value;
    const add = (item: unknown, basePath: (string | number)[]) => {
      if (!looksLikeObject(item)) return;
      const name = asString(isRecord(item.metadata) ? item.metadata.name : undefined);
      if (!name) return;
      const key = poolKey(item.kind, name);
      const list = pool.get(key) ?? [];
      list.push({ doc: file.documents[i]!, basePath, value: item, role });
      pool.set(key, list);
    };
    if (looksLikeObject(value) && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, j) => add(item, ['items', j]));
    } else add(value, []);
  });
}

/**
 * Sources of a rendered object: its patches (most specific first) and the
 * resource it came from. Names may carry a kustomize prefix/suffix, so the
 * longest source name contained in the rendered name wins.
 */
export function sourcesFor(pool: SourcePool, kind: string, renderedName: string): ObjectSource[] {
  const pick = (map: Map<string, ObjectSource[]>): ObjectSource[] => {
    const exact = map.get(poolKey(kind, renderedName));
    if (exact) return exact;
    let best: ObjectSource[] = [];
    let bestLength = 0;
    for (const [key, sources] of map) {
      const [k, name] = key.split('\u0000') as [string, string];
      if (k === kind && name.length > bestLength && renderedName.includes(name)) {
        best = sources;
        bestLength = name.length;
      }
    }
    return best;
  };
  const patches = [...pick(pool.patches)].reverse();
  const objects = pick(pool.objects);
  return [...patches, ...objects];
}
