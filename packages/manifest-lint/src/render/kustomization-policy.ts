/**
 * What labgrader lets kustomize read. kustomize fetches whatever a
 * kustomization names: URLs (`configurations: [http://…]`), git clones of
 * other repositories (`file:///srv/other//k8s`), plugin configurations that
 * load more. A student controls that file, so before rendering, every field
 * of every kustomization (and Component) in the tree is checked against an
 * allow-list, and every entry that kustomize reads as a path must be a
 * relative path inside the repository. Anything else is refused at its line
 * and the tree is not rendered.
 *
 * The allow-list is exact (case-sensitive) on purpose: kustomize decodes
 * with Go's encoding/json, which matches field names case-insensitively
 * (`Configurations:` is `configurations:` to it), so a spelling we do not
 * know is a spelling we cannot vouch for.
 */
import { normalizeRepoPath, type SourceLocation } from '@labgrader/core';
import { isRecord } from '../model/object.js';
import type { Path } from '../yaml/parse.js';
import type { DocumentSource } from '../yaml/source.js';

/** How kustomize uses a field's value. */
export type FieldShape =
  /** Inline data kustomize never loads anything from (labels, images, replicas...). */
  | { type: 'inline' }
  /** One file (or directory) path. */
  | { type: 'path' }
  /** A list of paths. */
  | { type: 'paths' }
  /** Generator `files`: `path` or `key=path`. */
  | { type: 'file-sources' }
  /** patchesStrategicMerge: a path, or an inline patch (multi-line or flow YAML). */
  | { type: 'path-or-inline' }
  /** A list of mappings with known fields. */
  | { type: 'list'; fields: Readonly<Record<string, FieldShape>> }
  /** One mapping with known fields. */
  | { type: 'object'; fields: Readonly<Record<string, FieldShape>> }
  /** Never accepted: `why` and `instead` are told to the student. */
  | { type: 'refused'; why: string; instead: string };

const inline: FieldShape = { type: 'inline' };
const onePath: FieldShape = { type: 'path' };
const paths: FieldShape = { type: 'paths' };

const PATCH_FIELDS = { path: onePath, patch: inline, target: inline, options: inline };
const GENERATOR_FIELDS = {
  name: inline,
  namespace: inline,
  behavior: inline,
  options: inline,
  literals: inline,
  files: { type: 'file-sources' },
  envs: paths,
  env: onePath,
} satisfies Record<string, FieldShape>;

const PLUGINS: FieldShape = {
  type: 'refused',
  why: 'loads kustomize plugins, whose configurations can download files, clone repositories and run programs',
  instead:
    'use the built-in fields instead (patches, replacements, configMapGenerator, images, labels), or commit the output of the plugin as a resource file',
};
const HELM: FieldShape = {
  type: 'refused',
  why: 'makes kustomize download and inflate a Helm chart',
  instead:
    'commit the output of `helm template` as a resource file, or commit the chart itself (a directory with Chart.yaml): labgrader renders charts on its own, without downloading anything',
};

/** Top-level fields of a kustomize v5 Kustomization (and Component), and what labgrader does with each. */
export const KUSTOMIZATION_FIELDS: Readonly<Record<string, FieldShape>> = {
  apiVersion: inline,
  kind: inline,
  metadata: inline,
  // Other kustomizations, resource files, CRD schemas: all local paths.
  resources: paths,
  bases: paths,
  components: paths,
  crds: paths,
  // Transformers that take their values inline.
  namespace: inline,
  namePrefix: inline,
  nameSuffix: inline,
  commonLabels: inline,
  labels: inline,
  commonAnnotations: inline,
  images: inline,
  imageTags: inline,
  replicas: inline,
  vars: inline,
  sortOptions: inline,
  buildMetadata: inline,
  generatorOptions: inline,
  patches: { type: 'list', fields: PATCH_FIELDS },
  patchesJson6902: { type: 'list', fields: PATCH_FIELDS },
  patchesStrategicMerge: { type: 'path-or-inline' },
  configMapGenerator: { type: 'list', fields: GENERATOR_FIELDS },
  secretGenerator: { type: 'list', fields: { ...GENERATOR_FIELDS, type: inline } },
  // Fields that read extra files: accepted when those files are committed.
  replacements: { type: 'list', fields: { path: onePath, source: inline, targets: inline } },
  openapi: { type: 'object', fields: { path: onePath, version: inline } },
  configurations: paths,
  // Fields that load plugins or download.
  transformers: PLUGINS,
  generators: PLUGINS,
  validators: PLUGINS,
  helmCharts: HELM,
  helmGlobals: HELM,
  helmChartInflationGenerator: HELM,
};

export type PathProblem = 'not-a-path' | 'absolute' | 'backslash' | 'remote' | 'outside';

export type PathCheck = { ok: true; target: string } | { ok: false; problem: PathProblem };

/** Hosts kustomize clones from without a scheme (`github.com/org/repo`) or that mark a git URL. */
const GIT_HOST = /^(?:www\.)?github\.com$|^(?:gitlab\.com|bitbucket\.org|dev\.azure\.com)$/i;

/**
 * Does kustomize (any v4/v5 version) read this as something to download or
 * clone rather than a local path? `scheme:` and `gh:`/`git::` prefixes,
 * `user@host:` (a colon or `@` in the first segment), `host//path`, `?ref=`,
 * `repo.git`, Azure's `_git/` and the bare GitHub host are all remote forms;
 * a local file whose name looks like one is refused too (rename it).
 */
export function isRemoteReference(entry: string): boolean {
  const first = entry.split('/')[0]!;
  return (
    first.includes(':') ||
    first.includes('@') ||
    GIT_HOST.test(first) ||
    entry.includes('//') ||
    entry.includes('?') ||
    /(?:^|\/)(?:[^/]*\.git|_git)(?:\/|$)/i.test(entry)
  );
}

/** Checks an entry kustomize reads as a path, written in a kustomization in `fromDir`. */
export function checkLocalPath(entry: unknown, fromDir: string): PathCheck {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (typeof entry !== 'string' || entry.trim() === '' || /[\u0000-\u001f\u007f]/.test(entry))
    return { ok: false, problem: 'not-a-path' };
  if (entry.startsWith('/')) return { ok: false, problem: 'absolute' };
  // kustomize (on Linux) takes a backslash literally; we would not find the same file.
  if (entry.includes('\\')) return { ok: false, problem: 'backslash' };
  if (isRemoteReference(entry)) return { ok: false, problem: 'remote' };
  const target = normalizeRepoPath(entry, fromDir);
  if (target === undefined) return { ok: false, problem: 'outside' };
  return { ok: true, target };
}

/** Generator `files` entries are `path` or `key=path`; the key is free text. */
export function fileSourcePath(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(eq + 1);
}

/** Inline strategic-merge patches are YAML text, not paths. */
export function isInlinePatch(entry: string): boolean {
  return entry.includes('\n') || entry.trimStart().startsWith('{');
}

export interface Refusal {
  /** Top-level field it is under. */
  field: string;
  /** The entry or field as written (for messages). */
  entry: string;
  location: SourceLocation;
  message: string;
}

const PATH_ADVICE: Record<PathProblem, { what: string; fix: string }> = {
  'not-a-path': {
    what: 'is not a path',
    fix: 'write the relative path of a committed file or directory',
  },
  absolute: {
    what: 'is an absolute path, which would be read on the grading machine',
    fix: "write the path relative to the kustomization's directory",
  },
  backslash: {
    what: 'contains a backslash, which kustomize takes as part of the name',
    fix: 'separate directories with forward slashes',
  },
  remote: {
    what: 'is a remote reference (a URL or a git repository)',
    fix: 'vendor those files into the repository and list them by relative path',
  },
  outside: {
    what: 'points outside the repository',
    fix: 'keep everything the kustomization uses inside the repository',
  },
};

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** Checks one document of a kustomization file; returns every refusal, each at its line. */
export function vetKustomization(
  file: string,
  dir: string,
  doc: DocumentSource | undefined,
  value: unknown,
): Refusal[] {
  const refusals: Refusal[] = [];
  const at = (path: Path, mode: 'key' | 'value'): SourceLocation => {
    if (!doc) return { file, line: 1, column: 1 };
    return doc.locationOf(doc.walk(path), mode);
  };
  const refuse = (field: string, entry: unknown, path: Path, mode: 'key' | 'value', message: string) =>
    refusals.push({ field, entry: show(entry), location: at(path, mode), message });
  const lead = (what: string) => `${file}: ${what}`;

  const checkPath = (field: string, label: string, entry: unknown, path: Path, pathText = entry) => {
    const check = checkLocalPath(pathText, dir);
    if (check.ok) return;
    const advice = PATH_ADVICE[check.problem];
    refuse(
      field,
      entry,
      path,
      'value',
      lead(
        `${label} entry "${show(entry)}" ${advice.what}; labgrader renders only what is committed, so ${advice.fix}`,
      ),
    );
  };
  const checkList = (field: string, label: string, list: unknown, path: Path, each: (e: unknown, p: Path) => void) => {
    if (!Array.isArray(list)) {
      refuse(field, list, path, 'value', lead(`${label} must be a list; kustomize would not build it`));
      return;
    }
    list.forEach((entry, i) => each(entry, [...path, i]));
  };

  const checkShape = (field: string, label: string, shape: FieldShape, fieldValue: unknown, path: Path): void => {
    switch (shape.type) {
      case 'inline':
        return;
      case 'refused':
        refuse(
          field,
          field,
          path,
          'key',
          lead(
            `"${label}" ${shape.why}; labgrader renders only what is committed and does not allow it: ${shape.instead}`,
          ),
        );
        return;
      case 'path':
        checkPath(field, label, fieldValue, path);
        return;
      case 'paths':
        checkList(field, label, fieldValue, path, (entry, p) => checkPath(field, label, entry, p));
        return;
      case 'file-sources':
        checkList(field, label, fieldValue, path, (entry, p) =>
          checkPath(field, label, entry, p, typeof entry === 'string' ? fileSourcePath(entry) : entry),
        );
        return;
      case 'path-or-inline':
        checkList(field, label, fieldValue, path, (entry, p) => {
          if (typeof entry !== 'string' || !isInlinePatch(entry)) checkPath(field, label, entry, p);
        });
        return;
      case 'object':
        checkFields(field, label, shape.fields, fieldValue, path);
        return;
      case 'list':
        checkList(field, label, fieldValue, path, (entry, p) => checkFields(field, label, shape.fields, entry, p));
        return;
    }
  };

  function checkFields(
    field: string,
    label: string,
    fields: Readonly<Record<string, FieldShape>>,
    object: unknown,
    path: Path,
  ): void {
    if (!isRecord(object)) {
      refuse(field, object, path, 'value', lead(`${label} entries must be mappings; kustomize would not build it`));
      return;
    }
    for (const [key, child] of Object.entries(object)) {
      const shape = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
      if (!shape) {
        refuse(
          field,
          key,
          [...path, key],
          'key',
          lead(unknownFieldMessage(`a ${label} entry`, key, Object.keys(fields))),
        );
        continue;
      }
      checkShape(field, `${label}.${key}`, shape, child, [...path, key]);
    }
  }

  if (!isRecord(value)) return refusals;
  for (const [key, fieldValue] of Object.entries(value)) {
    const shape = Object.prototype.hasOwnProperty.call(KUSTOMIZATION_FIELDS, key)
      ? KUSTOMIZATION_FIELDS[key]
      : undefined;
    if (!shape) {
      refuse(
        key,
        key,
        [key],
        'key',
        lead(unknownFieldMessage('a kustomization', key, Object.keys(KUSTOMIZATION_FIELDS))),
      );
      continue;
    }
    checkShape(key, key, shape, fieldValue, [key]);
  }
  return refusals;
}

function unknownFieldMessage(where: string, key: string, known: readonly string[]): string {
  const sameLetters = known.find((k) => k.toLowerCase() === key.toLowerCase());
  const hint = sameLetters
    ? `write it exactly "${sameLetters}" (labgrader matches field names exactly)`
    : 'remove it or fix its spelling';
  return `"${show(key)}" is not a field labgrader accepts in ${where}, so the kustomization was not rendered: ${hint}`;
}
