/**
 * Why a workload is not Ready, from pod statuses and events as the API
 * server returns them, placed on the manifest line to fix.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { defaultLintSettings, discoverObjects } from '@labgrader/manifest-lint';
import { diagnoseWorkload } from '../src/diagnose.js';
import type { ContainerStatus, KubeEvent, Pod } from '../src/kube.js';
import { buildPlan, mainWorkload } from '../src/index.js';
import type { PlannedWorkload } from '../src/plan.js';
import { EXAMPLES, repoOf } from './helpers/fake.js';

let web: PlannedWorkload;

beforeAll(async () => {
  const { objects } = await discoverObjects({
    repo: await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
    settings: defaultLintSettings(),
  });
  web = mainWorkload(
    buildPlan(objects, { mapping: { mode: 'kind', job: 'x' }, secrets: { synthesize: true, exclude: [] } }),
  ).workload!;
});

function pod(name: string, status: Partial<ContainerStatus> & Pick<ContainerStatus, 'state'>, phase = 'Pending'): Pod {
  return {
    metadata: {
      name,
      namespace: 'lab85',
      labels: { 'app.kubernetes.io/name': 'web' },
      creationTimestamp: '2026-11-21T10:00:00Z',
    },
    spec: { nodeName: 'n', containers: [{ name: 'web', image: 'ghcr.io/labgrader-examples/lab85-web:1.0.0' }] },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: 'web', ready: false, restartCount: 0, ...status }],
    },
  };
}

function event(kind: string, name: string, reason: string, message: string, at = '2026-11-21T10:00:05Z'): KubeEvent {
  return {
    metadata: { name: `${name}.1` },
    involvedObject: { kind, name },
    reason,
    message,
    lastTimestamp: at,
    count: 1,
  };
}

const where = (d: { location: { file: string; line: number } }) => `${d.location.file}:${d.location.line}`;

describe('diagnoseWorkload', () => {
  it('an image that cannot be pulled → image:', () => {
    const [d] = diagnoseWorkload(
      web,
      [pod('web-1', { state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } })],
      [],
    );
    expect(d).toMatchObject({ reason: 'ImagePullBackOff', container: 'web' });
    expect(d!.message).toBe(
      'The image of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff: Back-off pulling image "x").',
    );
    expect(where(d!)).toBe('k8s/deployment.yaml:44'); // image:
  });

  it('a Secret that does not exist → the secretKeyRef naming it', () => {
    const [d] = diagnoseWorkload(
      web,
      [
        pod('web-1', {
          state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "web-secrets" not found' } },
        }),
      ],
      [],
    );
    expect(d!.message).toBe('container "web" of Deployment lab85/web cannot start: secret "web-secrets" not found.');
    expect(where(d!)).toBe('k8s/deployment.yaml:62');
  });

  it('a crash loop → the container, with its last output; OOMKilled → limits.memory', () => {
    const logs = new Map([['web-1/web', 'panic: config missing']]);
    const [crash] = diagnoseWorkload(
      web,
      [
        pod('web-1', {
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: { terminated: { reason: 'Error', exitCode: 2 } },
        }),
      ],
      [],
      logs,
    );
    expect(crash!.message).toBe(
      'container "web" of Deployment lab85/web keeps crashing (CrashLoopBackOff, back-off 40s restarting failed container; 4 restarts); its last output: panic: config missing.',
    );
    expect(where(crash!)).toBe('k8s/deployment.yaml:43'); // - name: web
    const [oom] = diagnoseWorkload(
      web,
      [pod('web-1', { state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } })],
      [],
    );
    expect(oom).toMatchObject({ reason: 'OOMKilled' });
    expect(where(oom!)).toBe('k8s/deployment.yaml:70'); // limits.memory
  });

  it('a failing readiness probe → readinessProbe:, with what it says now', () => {
    const running = pod('web-1', { state: { running: {} } }, 'Running');
    const [d, ...more] = diagnoseWorkload(
      web,
      [running],
      [
        // The very first probe often runs before the process listens: not the problem.
        event(
          'Pod',
          'web-1',
          'Unhealthy',
          'Readiness probe failed: Get "http://10.244.0.5:8080/x": dial tcp 10.244.0.5:8080: connect: connection refused',
          '2026-11-21T10:00:01Z',
        ),
        event(
          'Pod',
          'web-1',
          'Unhealthy',
          'Readiness probe failed: HTTP probe failed with statuscode: 404',
          '2026-11-21T10:00:09Z',
        ),
      ],
    );
    expect(more).toEqual([]);
    expect(d!.message).toBe(
      'The readiness probe of container "web" of Deployment lab85/web fails: HTTP probe failed with statuscode: 404.',
    );
    expect(where(d!)).toBe('k8s/deployment.yaml:78');
  });

  it('Pending for lack of CPU → resources.requests; a FailedCreate the controller got past is not a problem', () => {
    const pending = pod('web-1', { state: { waiting: { reason: 'ContainerCreating' } } });
    const [d] = diagnoseWorkload(
      web,
      [pending],
      [event('Pod', 'web-1', 'FailedScheduling', '0/1 nodes are available: 1 Insufficient cpu.')],
    );
    expect(d!.message).toBe(
      'The pods of Deployment lab85/web cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.',
    );
    expect(where(d!)).toBe('k8s/deployment.yaml:65'); // requests:

    const race = [
      event(
        'ReplicaSet',
        'web-84c5f56f74',
        'FailedCreate',
        'Error creating: serviceaccount "web" not found',
        '2026-11-21T10:00:01Z',
      ),
      event(
        'ReplicaSet',
        'web-84c5f56f74',
        'SuccessfulCreate',
        'Created pod: web-84c5f56f74-abcde',
        '2026-11-21T10:00:02Z',
      ),
    ];
    expect(diagnoseWorkload(web, [], race)).toEqual([]);
    const stuck = [race[1]!, { ...race[0]!, lastTimestamp: '2026-11-21T10:00:09Z' }];
    const [failed] = diagnoseWorkload(web, [], stuck);
    expect(failed!.message).toBe(
      'The pods of Deployment lab85/web cannot be created: Error creating: serviceaccount "web" not found.',
    );
    expect(where(failed!)).toBe('k8s/deployment.yaml:24'); // serviceAccountName
  });
});
