/**
 * A worker pointed at a shared cluster by environment alone
 * (docs/shared-cluster.md): CLUSTER_STAGE=existing, CLUSTER_KUBE_CONTEXT,
 * KUBECONFIG. The configuration is validated like the rest; the plan replaces
 * any rubric's kind target with the existing cluster, keeps a rubric's own
 * existing-target settings, and never checks availability first (a cluster
 * that cannot be reached makes the report not gradable instead of silently
 * leaving the cluster criteria out). The real run is shared-cluster.real.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { ConfigError, type CommandRunner } from '@labgrader/core';
import { clusterPlanner, createRubricProvider, loadWorkerConfig } from '../src/index.js';

const DATABASE_URL = 'postgres://labgrader:pw@db:5432/labgrader';

/** The plan of CLUSTER_STAGE=existing runs no command: kubectl only runs in the stage. */
const noCommands: CommandRunner = {
  run(command) {
    return Promise.reject(new Error(`unexpected command: ${command}`));
  },
};

describe('CLUSTER_STAGE=existing', () => {
  it('reads the context; KUBECONFIG stays kubectl’s own variable', () => {
    const config = loadWorkerConfig({
      DATABASE_URL,
      CLUSTER_STAGE: 'existing',
      CLUSTER_KUBE_CONTEXT: ' course-cluster ',
      KUBECONFIG: '/etc/labgrader/grader.kubeconfig',
    });
    expect(config).toMatchObject({ clusterStage: 'existing', clusterKubeContext: 'course-cluster' });
    expect(loadWorkerConfig({ DATABASE_URL, CLUSTER_STAGE: 'existing' })).not.toHaveProperty('clusterKubeContext');
  });

  it('refuses a context without CLUSTER_STAGE=existing, and unknown modes, naming the variable only', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadWorkerConfig({ DATABASE_URL, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      throw new Error('accepted');
    };
    expect(problems({ CLUSTER_KUBE_CONTEXT: 'secret-context-name' })).toEqual([
      'CLUSTER_KUBE_CONTEXT: is read only with CLUSTER_STAGE=existing (it is auto)',
    ]);
    expect(problems({ CLUSTER_STAGE: 'kind', CLUSTER_KUBE_CONTEXT: 'x' })).toEqual([
      'CLUSTER_KUBE_CONTEXT: is read only with CLUSTER_STAGE=existing (it is kind)',
    ]);
    const [mode] = problems({ CLUSTER_STAGE: 'shared' });
    expect(mode).toMatch(/^CLUSTER_STAGE: .*existing/);
    expect(mode).not.toContain('shared');
  });

  it('plans every cluster rubric into the existing cluster, without checking it first', async () => {
    const rubrics = createRubricProvider();
    const lab85 = await rubrics.load('lab-85');
    const checklist = await rubrics.load('production-readiness');
    const target = (plan: { rubric: typeof lab85 }) =>
      (plan.rubric.stages.cluster.settings as { target: Record<string, unknown> }).target;

    const planned = await clusterPlanner('existing', { runner: noCommands, env: {}, kubeContext: 'course' })(lab85);
    expect(planned.skip).toEqual({});
    expect(target(planned)).toEqual({
      type: 'existing',
      context: 'course',
      namespacePrefix: 'lg',
      nodeAccess: 'none',
      keepOnFailure: false,
    });
    // The rest of the rubric's cluster settings are kept.
    expect(planned.rubric.stages.cluster.settings).toMatchObject({ readyTimeoutSeconds: 180 });
    // Without a context: the current context of KUBECONFIG.
    expect(target(await clusterPlanner('existing', { runner: noCommands, env: {} })(lab85))).not.toHaveProperty(
      'context',
    );
    // A rubric whose node drills want a kind cluster of its own is graded there too; the stage says the
    // node drills are not applicable (the nodes are not labgrader's).
    const checklistPlan = await clusterPlanner('existing', { runner: noCommands, env: {}, kubeContext: 'course' })(
      checklist,
    );
    expect(target(checklistPlan)).toMatchObject({ type: 'existing', context: 'course' });
    // A rubric that names an existing target keeps its own settings of it (here, its namespace prefix).
    const own = {
      ...lab85,
      stages: {
        ...lab85.stages,
        cluster: {
          ...lab85.stages.cluster,
          settings: {
            ...(lab85.stages.cluster.settings as object),
            target: { type: 'existing', namespacePrefix: 'cs101', nodeAccess: 'none', keepOnFailure: false },
          },
        },
      },
    };
    expect(
      target(await clusterPlanner('existing', { runner: noCommands, env: {}, kubeContext: 'course' })(own)),
    ).toEqual({
      type: 'existing',
      context: 'course',
      namespacePrefix: 'cs101',
      nodeAccess: 'none',
      keepOnFailure: false,
    });
    // A rubric without a cluster stage is left as it is.
    const staticOnly = { ...lab85, stages: { ...lab85.stages, cluster: { ...lab85.stages.cluster, enabled: false } } };
    expect(await clusterPlanner('existing', { runner: noCommands, env: {} })(staticOnly)).toEqual({
      rubric: staticOnly,
      skip: {},
    });
  });
});
