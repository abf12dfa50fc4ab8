/**
 * Canned answers, on top of scripted-cluster.ts's one-node kind cluster, for
 * the commands of the drills that need no second node: the Secret rotation
 * (the Secret as read, its replacement, `kubectl rollout restart`, which
 * replaces every pod by one Ready `restartReadyAfterMs` later). The readiness
 * gate needs pod addresses, which that cluster's pods do not have: it reports
 * itself not run there. The node drills need workers: drills.test.ts scripts
 * a cluster of its own for them.
 */
import type { Call, FakeClock, FakeRunner } from './fake.js';
import type { ScriptedCluster } from './scripted-cluster.js';

const IMAGE = 'ghcr.io/labgrader-examples/lab85-web:1.0.0';

export function scriptRotationDrills(
  runner: FakeRunner,
  clock: FakeClock,
  cluster: ScriptedCluster,
  options: { restartReadyAfterMs?: number } = {},
): { patches: string[] } {
  const patches: string[] = [];
  let restarts = 0;
  runner
    .on(/ -n lab85 get secret\/web-secrets -o json$/, {
      stdout: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'web-secrets', namespace: 'lab85', resourceVersion: '7' },
        data: { 'api-token': Buffer.from('the-synthesized-value').toString('base64') },
      }),
    })
    .on(/ -n lab85 replace -f -$/, (c: Call) => {
      patches.push(c.options.input ?? '');
      return { stdout: 'secret/web-secrets replaced\n' };
    })
    .on(/ rollout restart deployment\/web$/, () => {
      const live = cluster.pods.filter((p) => p.goneAt === undefined || p.goneAt > clock.t);
      for (const p of live) {
        p.deletingAt = clock.t + 1_000;
        p.goneAt = clock.t + 3_000;
      }
      restarts += 1;
      live.forEach((_, i) =>
        cluster.pods.push({
          name: `web-restart${restarts}-${i}`,
          createdAt: clock.t,
          readyAt: clock.t + (options.restartReadyAfterMs ?? 1_500),
          restarts: 0,
          containerId: `r${restarts}-${i}`,
          image: IMAGE,
        }),
      );
      return { stdout: 'deployment.apps/web restarted\n' };
    });
  return { patches };
}
