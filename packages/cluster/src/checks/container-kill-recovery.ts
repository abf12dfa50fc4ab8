import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { bandsSchema } from '../settings.js';
import { DEFAULT_BANDS, containerField, gradeRecovery } from './shared.js';

export const containerKillRecoveryOptions = z.strictObject({
  /** Recovery-time bands, fastest first: restarted and Ready within `maxSeconds` earns `credit` (0–1). */
  bands: bandsSchema(DEFAULT_BANDS),
});
export type ContainerKillRecoveryOptions = z.infer<typeof containerKillRecoveryOptions>;

export const containerKillRecovery = defineCheck<ClusterContext, ContainerKillRecoveryOptions>({
  id: 'cluster/container-kill-recovery',
  stage: 'cluster',
  title: 'A killed container is restarted and Ready again quickly',
  rationale:
    'Processes crash and get OOM-killed. The kubelet restarts the container in place, and the pod serves again once its readiness probe passes: a container that starts slowly, or a probe that takes long to notice it is back, turns every crash into an outage of that replica.',
  severity: 'error',
  fixHint: [
    'Make the restarted container Ready fast: start quickly, and probe readiness often enough to notice:',
    '',
    '```yaml',
    'readinessProbe:',
    '  httpGet: { path: /readyz, port: http }',
    '  periodSeconds: 5',
    'livenessProbe:',
    '  httpGet: { path: /healthz, port: http }',
    '  periodSeconds: 10',
    '  failureThreshold: 3',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy',
  options: containerKillRecoveryOptions,
  run: (context, options, reporter): void =>
    gradeRecovery(
      containerKillRecovery,
      context,
      context.drills['container-kill'],
      options.bands,
      'its main container was killed',
      (w) => containerField(w, 'readinessProbe'),
      reporter,
    ),
});
