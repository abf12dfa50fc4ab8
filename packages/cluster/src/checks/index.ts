/**
 * Every cluster check, one module each in this folder. A test asserts that
 * this list and the folder's contents match, so a new check cannot be forgotten.
 */
import type { AnyCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { containerKillRecovery } from './container-kill-recovery.js';
import { deploysReady } from './deploys-ready.js';
import { podKillRecovery } from './pod-kill-recovery.js';
import { rolloutUndo } from './rollout-undo.js';
import { serviceAvailability } from './service-availability.js';

export const CLUSTER_CHECKS: readonly AnyCheck<ClusterContext>[] = [
  deploysReady,
  serviceAvailability,
  podKillRecovery,
  containerKillRecovery,
  rolloutUndo,
];

export { containerKillRecovery, deploysReady, podKillRecovery, rolloutUndo, serviceAvailability };
