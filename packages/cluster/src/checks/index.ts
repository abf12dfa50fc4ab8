/**
 * Every cluster check, one module each in this folder. A test asserts that
 * this list and the folder's contents match, so a new check cannot be forgotten.
 */
import type { AnyCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { containerKillRecovery } from './container-kill-recovery.js';
import { deploysReady } from './deploys-ready.js';
import { nodeDrain } from './node-drain.js';
import { nodeFailure } from './node-failure.js';
import { podKillRecovery } from './pod-kill-recovery.js';
import { readinessGate } from './readiness-gate.js';
import { rolloutUndo } from './rollout-undo.js';
import { secretRotation } from './secret-rotation.js';
import { serviceAvailability } from './service-availability.js';

export const CLUSTER_CHECKS: readonly AnyCheck<ClusterContext>[] = [
  deploysReady,
  serviceAvailability,
  podKillRecovery,
  containerKillRecovery,
  rolloutUndo,
  secretRotation,
  readinessGate,
  nodeFailure,
  nodeDrain,
];

export {
  containerKillRecovery,
  deploysReady,
  nodeDrain,
  nodeFailure,
  podKillRecovery,
  readinessGate,
  rolloutUndo,
  secretRotation,
  serviceAvailability,
};
