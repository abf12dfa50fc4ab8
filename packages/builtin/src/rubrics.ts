import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@labgrader/core';
import { loadRubricFile, type Rubric } from '@labgrader/rubric';
import { rubricEnvironment } from './stages.js';

/** The rubrics shipped in the repository's top-level rubrics/ folder. */
export const BUNDLED_RUBRICS_DIR = fileURLToPath(new URL('../../../rubrics/', import.meta.url));
export const DEFAULT_RUBRIC = 'lab-85';

/**
 * `--rubric` accepts a file path, or the id of a bundled rubric
 * (`lab-85`, `production-readiness`).
 */
export function resolveRubricPath(value: string | undefined, cwd: string): string {
  const wanted = value ?? DEFAULT_RUBRIC;
  const asPath = path.resolve(cwd, wanted);
  if (existsSync(asPath)) return asPath;
  if (/^[a-z0-9-]+$/.test(wanted)) {
    const bundled = path.join(BUNDLED_RUBRICS_DIR, `${wanted}.yaml`);
    if (existsSync(bundled)) return bundled;
  }
  throw new ConfigError(`rubric '${wanted}' not found`, {
    hint: `Pass a rubric file, or one of the bundled rubrics: ${listBundled().join(', ')}.`,
  });
}

export function listBundled(): string[] {
  try {
    return readdirSync(BUNDLED_RUBRICS_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
  } catch {
    return [];
  }
}

export async function loadRubric(value: string | undefined, cwd: string): Promise<Rubric> {
  const file = resolveRubricPath(value, cwd);
  const relative = path.relative(cwd, file);
  const shown = relative && !relative.startsWith('..') ? relative : file;
  return loadRubricFile(file, rubricEnvironment, shown);
}
