import { z } from 'zod';
import { CheckRegistry, catalogOf, type CheckDefinition } from '@labgrader/core';
import type { RubricEnvironment } from '@labgrader/rubric';

const base = {
  rationale: 'r',
  severity: 'error' as const,
  fixHint: 'fix it',
  check: () => ({ findings: [], examined: 0, passed: 0 }),
};

const lintChecks: CheckDefinition<unknown, unknown>[] = [
  { ...base, id: 'lint/container-resources', stage: 'lint', title: 'resources', options: z.object({}) },
  {
    ...base,
    id: 'lint/replicas',
    stage: 'lint',
    title: 'replicas',
    options: z.strictObject({ minReplicas: z.number().int().min(1).default(2) }),
  },
];
const docsChecks: CheckDefinition<unknown, unknown>[] = [
  { ...base, id: 'docs/notes-present', stage: 'docs', title: 'notes', options: z.object({}) },
];
const clusterChecks: CheckDefinition<unknown, unknown>[] = [
  { ...base, id: 'cluster/pod-kill-recovery', stage: 'cluster', title: 'pod kill', options: z.object({}) },
];

export const env: RubricEnvironment = {
  catalog: catalogOf(
    new CheckRegistry('lint', lintChecks),
    new CheckRegistry('docs', docsChecks),
    new CheckRegistry('cluster', clusterChecks),
  ),
  stageSettings: {
    lint: z.strictObject({ kubernetesVersion: z.string().default('1.33') }),
    docs: z.strictObject({}),
  },
};

/** The same, with a cluster stage this build can run. */
export const envWithCluster: RubricEnvironment = {
  ...env,
  stageSettings: { ...env.stageSettings, cluster: z.strictObject({}) },
};
