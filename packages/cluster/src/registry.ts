/**
 * What a rubric and a report need to know about the cluster stage without
 * loading it: its checks, its settings schema and its abort grace. The stage
 * itself (deploy, drills, isolation: `./stage.js`) is imported by whoever
 * runs it; `@labgrader/builtin` does so on the first cluster run, so the
 * commands that never deploy (`labgrader lint`, `docs`, `grade --cluster
 * none`) do not load it. Exported as `@labgrader/cluster/registry`.
 */
import { CheckRegistry } from '@labgrader/core';
import { CLUSTER_CHECKS } from './checks/index.js';
import type { ClusterContext } from './context.js';

export { clusterSettingsSchema, type ClusterSettings } from './settings.js';
export type { ClusterContext } from './context.js';

export const clusterRegistry = new CheckRegistry<ClusterContext>('cluster', CLUSTER_CHECKS);

/** How long the pipeline waits, after a time-out, for the stage to delete what it created. */
export const CLUSTER_ABORT_GRACE_MS = 200_000;
