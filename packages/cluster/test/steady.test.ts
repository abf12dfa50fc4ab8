/**
 * The steady-state watch's pieces: the kubelet's probe counters as read
 * through the API server's node proxy, and the windows computed from the
 * lab's liveness probes. (The watch itself, against a scripted cluster and
 * the fake clock, is in broken-labs.test.ts.)
 */
import { describe, expect, it } from '@jest/globals';
import { kubeletLivenessCounters, livenessSeconds, parseLivenessCounters } from '../src/steady.js';
import { FakeClock, FakeRunner, fakeTool } from './helpers/fake.js';

/** The shape of a kubelet's /metrics/probes (as a Kubernetes 1.34 kind node serves it), two pods, one failing its liveness probe. */
const METRICS = `# HELP prober_probe_duration_seconds [ALPHA] Duration in seconds for a probe response.
# TYPE prober_probe_duration_seconds histogram
prober_probe_duration_seconds_bucket{container="web",namespace="lab85",pod="web-7c9d-a1",probe_type="Liveness",le="0.005"} 2
prober_probe_duration_seconds_sum{container="web",namespace="lab85",pod="web-7c9d-a1",probe_type="Liveness"} 0.004
# HELP prober_probe_total [BETA] Cumulative number of a liveness, readiness or startup probe for a container by result.
# TYPE prober_probe_total counter
prober_probe_total{container="web",namespace="lab85",pod="web-7c9d-a1",pod_uid="0f1e",probe_type="Liveness",result="successful"} 2
prober_probe_total{container="web",namespace="lab85",pod="web-7c9d-a1",pod_uid="0f1e",probe_type="Readiness",result="successful"} 5
prober_probe_total{container="web",namespace="lab85",pod="web-7c9d-b2",pod_uid="9a8b",probe_type="Liveness",result="failed"} 1
prober_probe_total{container="web",namespace="lab85",pod="web-7c9d-b2",pod_uid="9a8b",probe_type="Liveness",result="successful"} 1
prober_probe_total{container="coredns",namespace="kube-system",pod="coredns-x",pod_uid="77",probe_type="Liveness",result="unknown"} 1
`;

describe('parseLivenessCounters', () => {
  it('keeps the liveness series of prober_probe_total, per container, with successful and failed counts', () => {
    expect(parseLivenessCounters(METRICS)).toEqual([
      { namespace: 'lab85', pod: 'web-7c9d-a1', container: 'web', successful: 2, failed: 0 },
      { namespace: 'lab85', pod: 'web-7c9d-b2', container: 'web', successful: 1, failed: 1 },
      { namespace: 'kube-system', pod: 'coredns-x', container: 'coredns', successful: 0, failed: 0 },
    ]);
  });

  it('reads escaped label values and ignores what is not a count', () => {
    const text =
      'prober_probe_total{container="a\\"b",namespace="n",pod="p",probe_type="Liveness",result="successful"} 3\n' +
      'prober_probe_total{container="c",namespace="n",pod="p",probe_type="Liveness",result="successful"} NaNx\n' +
      'garbage line\n';
    expect(parseLivenessCounters(text)).toEqual([
      { namespace: 'n', pod: 'p', container: 'a\\"b', successful: 3, failed: 0 },
    ]);
  });
});

describe('kubeletLivenessCounters', () => {
  it('asks each node through the API server proxy and merges the answers', async () => {
    const clock = new FakeClock();
    const runner = new FakeRunner(clock).on(/ get --raw /, { stdout: METRICS });
    const counts = await kubeletLivenessCounters(fakeTool(runner, clock))(['kind-worker', 'kind-worker2']);
    expect(runner.lines()).toEqual([
      'kubectl get --raw /api/v1/nodes/kind-worker/proxy/metrics/probes',
      'kubectl get --raw /api/v1/nodes/kind-worker2/proxy/metrics/probes',
    ]);
    expect(counts).toHaveLength(6);
  });

  it('gives up for good once RBAC refuses nodes/proxy, and tries again after anything else', async () => {
    const clock = new FakeClock();
    let reply = { exitCode: 1, stderr: 'Unable to connect to the server: EOF\n' };
    const runner = new FakeRunner(clock).on(/ get --raw /, () => reply);
    const counters = kubeletLivenessCounters(fakeTool(runner, clock));
    expect(await counters(['n1'])).toBeUndefined();
    reply = {
      exitCode: 1,
      stderr:
        'Error from server (Forbidden): nodes "n1" is forbidden: User "grader" cannot get resource "nodes/proxy"\n',
    };
    expect(await counters(['n1'])).toBeUndefined();
    expect(await counters(['n1'])).toBeUndefined();
    expect(runner.calls).toHaveLength(2);
    expect(await counters([])).toBeUndefined();
  });
});

describe('livenessSeconds', () => {
  it("the time to restart and to a first result, with Kubernetes' defaults for what is unset", () => {
    expect(
      livenessSeconds({ httpGet: { path: '/' }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 }),
    ).toEqual({
      total: 36,
      text: 'initialDelaySeconds 5 + periodSeconds 10 × failureThreshold 3 + timeoutSeconds 1',
      first: 16,
      firstText: 'initialDelaySeconds 5 + periodSeconds 10 + timeoutSeconds 1',
    });
    expect(livenessSeconds({ tcpSocket: { port: 80 } })).toMatchObject({ total: 31, first: 11 });
    expect(livenessSeconds(undefined)).toBeUndefined();
  });
});
