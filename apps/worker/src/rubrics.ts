/**
 * Rubrics by id, as jobs name them: a configured directory of `<id>.yaml`
 * first (a course's own rubrics), then the bundled ones. Ids are never paths.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@labgrader/core';
import { BUNDLED_RUBRICS_DIR, listBundled, loadRubric, rubricEnvironment } from '@labgrader/builtin';
import { RUBRIC_ID_PATTERN } from '@labgrader/queue';
import { loadRubricFile, type Rubric } from '@labgrader/rubric';

export interface RubricProvider {
  /** Throws ConfigError for an unknown id or an invalid rubric file (the job is not retried). */
  load(id: string): Promise<Rubric>;
}

export function createRubricProvider(options: { directory?: string } = {}): RubricProvider {
  return {
    async load(id) {
      if (!RUBRIC_ID_PATTERN.test(id)) throw new ConfigError(`rubric id '${id}' is not a rubric id`);
      if (options.directory) {
        const file = path.join(options.directory, `${id}.yaml`);
        if (existsSync(file)) return loadRubricFile(file, rubricEnvironment, `${id}.yaml`);
      }
      if (!listBundled().includes(id)) {
        throw new ConfigError(`rubric '${id}' not found`, {
          hint: `Known rubrics: ${listBundled().join(', ')}${options.directory ? `, or <id>.yaml in ${options.directory}` : ''}.`,
        });
      }
      return loadRubric(id, BUNDLED_RUBRICS_DIR);
    },
  };
}
