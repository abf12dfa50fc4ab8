/** Test shortcuts: prepare the docs stage on a repository and run its checks. */
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  emptyInventory,
  runChecks,
  type CheckOutcome,
  type KubeObjectRef,
  type ManifestInventory,
  type RepoFiles,
} from '@labgrader/core';
import { openRepoFiles } from '@labgrader/repo';
import { docsRegistry, prepareDocs, type DocsContext } from '../../src/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixturePath(name: string): string {
  return `${FIXTURES}${name}`;
}

/**
 * A minimal inventory from the repository's YAML files (kind, metadata.name,
 * namespace, document line): enough for the consistency check's tests
 * without depending on the lint stage.
 */
export async function inventoryOf(repo: RepoFiles): Promise<ManifestInventory> {
  const objects: KubeObjectRef[] = [];
  for (const entry of await repo.list()) {
    if (!/\.ya?ml$/.test(entry.path) || entry.kind !== 'file') continue;
    const text = await repo.readText(entry.path);
    if (!text.ok) continue;
    for (const doc of parseAllDocuments(text.value)) {
      const value = doc.toJS() as {
        apiVersion?: string;
        kind?: string;
        metadata?: { name?: string; namespace?: string };
      } | null;
      if (!value?.kind || !value.metadata?.name) continue;
      const offset = doc.contents?.range?.[0] ?? 0;
      const line = text.value.slice(0, offset).split('\n').length;
      const ref: KubeObjectRef = {
        apiVersion: value.apiVersion ?? 'v1',
        kind: value.kind,
        name: value.metadata.name,
        location: { file: entry.path, line, column: 1 },
      };
      if (value.metadata.namespace) ref.namespace = value.metadata.namespace;
      objects.push(ref);
    }
  }
  return { objects, files: [...new Set(objects.map((o) => o.location.file))].sort() };
}

export async function prepare(
  repo: RepoFiles,
  options: { settings?: unknown; inventory?: ManifestInventory; signal?: AbortSignal } = {},
): Promise<DocsContext> {
  const prepared = await prepareDocs({
    repo,
    settings: (options.settings ?? {}) as never,
    signal: options.signal ?? new AbortController().signal,
    inventory: options.inventory ?? emptyInventory,
  });
  return prepared.context;
}

export async function prepareFixture(name: string, settings?: unknown): Promise<DocsContext> {
  const repo = await openRepoFiles(fixturePath(name));
  return prepare(repo, { settings, inventory: await inventoryOf(repo) });
}

/** Runs one check with options parsed by its schema (defaults applied). */
export async function run(context: DocsContext, id: string, options: unknown = {}): Promise<CheckOutcome> {
  const check = docsRegistry.get(id);
  if (!check) throw new Error(`no check ${id}`);
  const [result] = await runChecks(docsRegistry, [{ id, options: check.options.parse(options) }], context);
  if (!result?.outcome) throw new Error(`${id} crashed: ${result?.error}`);
  return result.outcome;
}

/** Runs every check with default options. */
export async function runAll(context: DocsContext): Promise<Record<string, CheckOutcome>> {
  const out: Record<string, CheckOutcome> = {};
  for (const id of docsRegistry.ids()) out[id] = await run(context, id);
  return out;
}

/** `file:line severity` of each non-info finding, for compact exact assertions. */
export function where(outcome: CheckOutcome, includeInfo = false): string[] {
  return outcome.findings
    .filter((f) => includeInfo || f.severity !== 'info')
    .map((f) => `${f.location?.file}:${f.location?.line} ${f.severity}`);
}

export function score(outcome: CheckOutcome): [number, number] {
  return [outcome.passed, outcome.examined];
}
