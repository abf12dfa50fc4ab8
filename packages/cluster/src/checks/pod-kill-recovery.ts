import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { bandsSchema } from '../settings.js';
import { DEFAULT_BANDS, containerField, gradeRecovery } from './shared.js';

export const podKillRecoveryOptions = z.strictObject({
  /** Recovery-time bands, fastest first: recovering within `maxSeconds` earns `credit` (0–1). */
  bands: bandsSchema(DEFAULT_BANDS),
});
export type PodKillRecoveryOptions = z.infer<typeof podKillRecoveryOptions>;

export const podKillRecovery = defineCheck<ClusterContext, PodKillRecoveryOptions>({
  id: 'cluster/pod-kill-recovery',
  stage: 'cluster',
  title: 'A deleted pod is replaced by a Ready one quickly',
  rationale:
    'Nodes fail and pods get evicted all the time in production. The controller replaces a lost pod at once, but the new pod only takes traffic when its readiness probe passes: slow starts, long initial delays or missing resources stretch every incident.',
  severity: 'error',
  fixHint: [
    'Let the replacement become Ready fast: a readiness probe with a short period and no long initial delay (use a `startupProbe` for slow starts), requests the node can satisfy, and an image that starts quickly:',
    '',
    '```yaml',
    'readinessProbe:',
    '  httpGet: { path: /readyz, port: http }',
    '  periodSeconds: 5',
    '  failureThreshold: 2',
    'startupProbe:            # only if the app needs long to start',
    '  httpGet: { path: /healthz, port: http }',
    '  periodSeconds: 2',
    '  failureThreshold: 30',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#how-a-replicaset-works',
  options: podKillRecoveryOptions,
  run: (context, options, reporter): void =>
    gradeRecovery(
      podKillRecovery,
      context,
      context.drills['pod-kill'],
      options.bands,
      'one of its pods was deleted',
      (w) => containerField(w, 'readinessProbe'),
      reporter,
    ),
});
