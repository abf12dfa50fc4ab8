import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import {
  BUNDLED_RUBRICS_DIR,
  builtinCatalog,
  builtinStages,
  listBundled,
  loadRubric,
  resolveRubricPath,
} from '@labgrader/builtin';

describe('the composition root', () => {
  it('ships the docs, lint and cluster stages, and a catalog holding every one of their checks', () => {
    expect(Object.keys(builtinStages).sort()).toEqual(['cluster', 'docs', 'lint']);
    expect(builtinStages.cluster?.abortGraceMs).toBeGreaterThan(0);
    const ids = Object.values(builtinStages).flatMap((s) => s!.registry.ids());
    expect(
      builtinCatalog
        .list()
        .map((c) => c.id)
        .sort(),
    ).toEqual(ids.sort());
  });

  it('loads every bundled rubric, and resolves them by id or by path', async () => {
    expect(listBundled().sort()).toEqual(['lab-85', 'production-readiness']);
    for (const id of listBundled()) {
      const rubric = await loadRubric(id, process.cwd());
      expect(rubric.id).toBe(id);
      expect(rubric.criteria.reduce((sum, c) => sum + c.points, 0)).toBe(100);
    }
    const file = path.join(BUNDLED_RUBRICS_DIR, 'lab-85.yaml');
    expect(resolveRubricPath(file, '/')).toBe(file);
    expect(() => resolveRubricPath('lab-99', process.cwd())).toThrow("rubric 'lab-99' not found");
  });
});
