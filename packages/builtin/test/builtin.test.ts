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

  it("every bundled rubric that drills the cluster grades cluster/deploys-ready too, where the lab's own failure is reported", async () => {
    const cluster: Record<string, Record<string, number>> = {};
    for (const id of listBundled()) {
      const rubric = await loadRubric(id, process.cwd());
      const criteria = rubric.criteria.filter((c) => c.stage === 'cluster');
      if (criteria.length === 0) continue;
      expect(criteria.flatMap((c) => c.checks.map((k) => k.id))).toContain('cluster/deploys-ready');
      cluster[id] = Object.fromEntries(criteria.map((c) => [c.id, c.points]));
    }
    // The checklist's 10 cluster points: 2 for deploying and staying Ready, 8 for the node drills (its 90 static
    // points unchanged).
    expect(cluster).toEqual({
      'lab-85': { 'runs-in-cluster': 5, 'survives-failure': 15 },
      'production-readiness': { 'deploys-in-cluster': 2, 'survives-node-loss': 8 },
    });
  });
});
