import { describe, expect, it } from '@jest/globals';
import { builtinStages } from '@labgrader/builtin';
import { loadBuiltinStage } from '@labgrader/builtin/load-stage';
import { CLUSTER_ABORT_GRACE_MS, clusterRegistry } from '@labgrader/cluster/registry';

describe('one stage at a time (labgrader lint, labgrader docs)', () => {
  it('gives the same stages as the composition root', async () => {
    expect(await loadBuiltinStage('lint')).toBe(builtinStages.lint);
    expect(await loadBuiltinStage('docs')).toBe(builtinStages.docs);
    const cluster = await loadBuiltinStage('cluster');
    expect(cluster.registry).toBe(builtinStages.cluster!.registry);
    expect(cluster.settingsSchema).toBe(builtinStages.cluster!.settingsSchema);
  });

  it('describes the cluster stage (checks, settings, abort grace) before loading it', () => {
    const cluster = builtinStages.cluster!;
    expect(cluster.name).toBe('cluster');
    expect(cluster.registry).toBe(clusterRegistry);
    expect(cluster.abortGraceMs).toBe(CLUSTER_ABORT_GRACE_MS);
  });
});
