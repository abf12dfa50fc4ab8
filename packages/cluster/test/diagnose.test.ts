/**
 * Why a workload is not Ready, from pod statuses and events as the API
 * server returns them, placed on the manifest line to fix.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { defaultLintSettings, discoverObjects } from '@labgrader/manifest-lint';
import { diagnoseService, diagnoseWorkload, newWaitMemory, pullReason, terminalReason } from '../src/diagnose.js';
import type { ContainerStatus, KubeEvent, Pod } from '../src/kube.js';
import { buildPlan, mainService, mainWorkload } from '../src/index.js';
import type { PlannedService, PlannedWorkload } from '../src/plan.js';
import { EXAMPLES, repoOf } from './helpers/fake.js';

let web: PlannedWorkload;
let service: PlannedService;

beforeAll(async () => {
  const { objects } = await discoverObjects({
    repo: await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
    settings: defaultLintSettings(),
  });
  const plan = buildPlan(objects, { mapping: { mode: 'kind', job: 'x' }, secrets: { synthesize: true, exclude: [] } });
  web = mainWorkload(plan).workload!;
  service = mainService(plan, web).service!;
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
    // An older kubelet's back-off names no cause, and no event says more.
    expect(d!.message).toBe(
      'The image "ghcr.io/labgrader-examples/lab85-web:1.0.0" of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff).',
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
      'container "web" of Deployment lab85/web keeps crashing (CrashLoopBackOff, last exit: Error, exit code 2; 4 restarts); its last output: panic: config missing.',
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

/** containerd's words when the node cannot resolve the registry (the offline build), as kubelet v1.34 reports them. */
const CAUSE =
  'failed to pull and unpack image "ghcr.io/labgrader-examples/lab85-web:9.9.9": failed to resolve reference "ghcr.io/labgrader-examples/lab85-web:9.9.9": failed to do request: Head "https://ghcr.io/v2/labgrader-examples/lab85-web/manifests/9.9.9": dial tcp: lookup ghcr.io on 127.0.0.11:53: read udp 127.0.0.1:59654->127.0.0.11:53: i/o timeout';

describe('one cause, one diagnosis, with the full reason', () => {
  it('ErrImagePull in one pod and ImagePullBackOff in another are one cause, with the reason to its end', () => {
    const diagnoses = diagnoseWorkload(
      web,
      [
        pod('web-1', { state: { waiting: { reason: 'ErrImagePull', message: CAUSE } } }),
        pod('web-2', {
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "ghcr.io/labgrader-examples/lab85-web:9.9.9": ErrImagePull: ${CAUSE}`,
            },
          },
        }),
      ],
      [event('Pod', 'web-1', 'Failed', `Failed to pull image "ghcr.io/labgrader-examples/lab85-web:9.9.9": ${CAUSE}`)],
    );
    expect(diagnoses).toHaveLength(1);
    expect(diagnoses[0]!.message).toBe(
      `The image "ghcr.io/labgrader-examples/lab85-web:1.0.0" of container "web" of Deployment lab85/web cannot be pulled (ErrImagePull: ${CAUSE}).`,
    );
    expect(diagnoses[0]!.message).toMatch(/lookup ghcr\.io on 127\.0\.0\.11:53: .*: i\/o timeout\)\.$/);
    expect(where(diagnoses[0]!)).toBe('k8s/deployment.yaml:44');
  });

  it('pullReason: the kubelet’s wrappers off, the cause from the events when the back-off names none', () => {
    expect(pullReason(`Back-off pulling image "x": ErrImagePull: ${CAUSE}`)).toBe(CAUSE);
    expect(
      pullReason('Back-off pulling image "x"', [
        event('Pod', 'web-1', 'Failed', `Failed to pull image "x": rpc error: code = NotFound desc = x: not found`),
      ]),
    ).toBe('rpc error: code = NotFound desc = x: not found');
  });

  it('a sandbox the runtime cannot start within the memory limit → limits.memory, whatever runc says', () => {
    const creating = pod('web-1', { state: { waiting: { reason: 'ContainerCreating' } } });
    const oom =
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: container init was OOM-killed (memory limit too low?): unknown';
    const [d, ...more] = diagnoseWorkload(web, [creating], [event('Pod', 'web-1', 'FailedCreatePodSandBox', oom)]);
    expect(more).toEqual([]);
    expect(d).toMatchObject({ reason: 'SandboxOOM', container: 'web' });
    expect(d!.message).toBe(
      `The pods of Deployment lab85/web cannot start: the container runtime cannot create their sandbox within the memory limit (limits.memory 64Mi of container "web"), which is too low: ${oom}.`,
    );
    expect(where(d!)).toBe('k8s/deployment.yaml:70'); // limits.memory
    // Another sandbox failure is the runtime's own words, on the pod spec.
    const [other] = diagnoseWorkload(
      web,
      [creating],
      [event('Pod', 'web-1', 'FailedCreatePodSandBox', 'Failed to create pod sandbox: plugin type="ptp" failed')],
    );
    expect(other).toMatchObject({ reason: 'FailedCreatePodSandBox' });
    expect(where(other!)).toBe('k8s/deployment.yaml:23'); // spec:
  });

  it('a crashing container fails its readiness probe too: the crash is the one cause', () => {
    const diagnoses = diagnoseWorkload(
      web,
      [
        pod('web-1', {
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
          lastState: { terminated: { reason: 'Error', exitCode: 1 } },
        }),
      ],
      [
        {
          ...event(
            'Pod',
            'web-1',
            'Unhealthy',
            'Readiness probe failed: dial tcp 10.244.0.9:8080: connect: connection refused',
          ),
          involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
        },
      ],
    );
    expect(diagnoses.map((d) => d.reason)).toEqual(['CrashLoopBackOff']);
  });

  it('a crash loop the liveness probe causes is the liveness probe; an OOM crash loop is the memory limit', () => {
    const looping = pod('web-1', {
      restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
      lastState: { terminated: { reason: 'Completed', exitCode: 0 } },
    });
    const [d, ...more] = diagnoseWorkload(
      web,
      [looping],
      [
        event('Pod', 'web-1', 'Unhealthy', 'Liveness probe failed: HTTP probe failed with statuscode: 404'),
        event('Pod', 'web-1', 'Killing', 'Container web failed liveness probe, will be restarted'),
      ],
    );
    expect(more).toEqual([]);
    expect(d!.message).toBe(
      'The liveness probe of container "web" of Deployment lab85/web fails: HTTP probe failed with statuscode: 404; the kubelet restarts the container for it (3 restarts).',
    );
    expect(where(d!)).toBe('k8s/deployment.yaml:71'); // livenessProbe:
    const [oom] = diagnoseWorkload(
      web,
      [
        pod('web-1', {
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        }),
      ],
      [],
    );
    expect(oom).toMatchObject({ reason: 'OOMKilled' });
    expect(where(oom!)).toBe('k8s/deployment.yaml:70');
  });
});

describe('terminalReason: when waiting longer for Ready cannot help', () => {
  const backOff = (name: string) =>
    pod(name, {
      state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "x": ErrImagePull: ${CAUSE}` } },
    });
  const failedPull = (name: string, count = 1) => ({
    ...event('Pod', name, 'Failed', `Failed to pull image "x": ${CAUSE}`),
    count,
  });

  it('an image pull refused twice, the kubelet backing off: terminal for every pod of that image', () => {
    const memory = newWaitMemory();
    const queued = pod('web-3', { state: { waiting: { reason: 'ContainerCreating' } } });
    // The first failure may be a registry's hiccup: not yet.
    expect(terminalReason(web, [backOff('web-1'), queued], [failedPull('web-1')], memory)).toBeUndefined();
    expect(terminalReason(web, [backOff('web-1'), queued], [failedPull('web-1', 2)], memory)).toBe(
      'the image of container "web" cannot be pulled (2 failed pulls) and the kubelet is backing off (ImagePullBackOff)',
    );
    expect(
      terminalReason(web, [pod('web-1', { state: { waiting: { reason: 'InvalidImageName' } } })], [], memory),
    ).toBe('the image of container "web" cannot be pulled (InvalidImageName)');
  });

  it('a crash loop with the same exit twice; not a first crash, not a crash that changes', () => {
    const crash = (name: string, restartCount: number, exitCode: number) =>
      pod(name, {
        restartCount,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { reason: 'Error', exitCode } },
      });
    const memory = newWaitMemory();
    expect(terminalReason(web, [crash('web-1', 1, 1)], [], memory)).toBeUndefined();
    expect(terminalReason(web, [crash('web-1', 2, 3)], [], memory)).toBeUndefined(); // exited otherwise
    expect(terminalReason(web, [crash('web-1', 3, 3)], [], memory)).toBe(
      'container "web" exits the same way on every start (CrashLoopBackOff, Error, exit code 3, 2 times)',
    );
    // One pod still starting: not terminal.
    expect(
      terminalReason(web, [crash('web-1', 3, 3), pod('web-2', { state: { running: {} } }, 'Running')], [], memory),
    ).toBeUndefined();
  });

  it('unschedulable for requests or selectors, not for a claim still binding; no sandbox within the memory limit', () => {
    const pending = (message: string): Pod => ({
      ...pod('web-1', { state: { waiting: { reason: 'ContainerCreating' } } }),
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
      },
    });
    const memory = newWaitMemory();
    expect(terminalReason(web, [pending('0/1 nodes are available: 1 Insufficient cpu.')], [], memory)).toBe(
      'its pods cannot be scheduled (0/1 nodes are available: 1 Insufficient cpu)',
    );
    expect(
      terminalReason(
        web,
        [pending('0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.')],
        [],
        memory,
      ),
    ).toBeUndefined();
    const creating = pod('web-1', { state: { waiting: { reason: 'ContainerCreating' } } });
    const sandbox = (count: number) => ({
      ...event(
        'Pod',
        'web-1',
        'FailedCreatePodSandBox',
        'runc create failed: container init was OOM-killed (memory limit too low?)',
      ),
      count,
    });
    expect(terminalReason(web, [creating], [sandbox(1)], memory)).toBeUndefined();
    expect(terminalReason(web, [creating], [sandbox(2)], memory)).toBe(
      "the container runtime cannot create its pods' sandbox within their memory limit (2 attempts)",
    );
  });
});

describe('diagnoseService: why a Service whose pods are Ready does not answer', () => {
  const ready = (name: string): Pod => ({
    ...pod(name, { state: { running: {} }, ready: true }, 'Running'),
    spec: {
      nodeName: 'n',
      containers: [
        {
          name: 'web',
          image: 'x',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ],
        },
      ],
    },
  });
  const slice = (ports: { name: string; port: number }[] | null, n = 3) => ({
    metadata: { name: 's' },
    ports,
    endpoints: Array.from({ length: n }, (_, i) => ({ addresses: [`10.0.0.${i}`], conditions: { ready: true } })),
  });
  const pods = [ready('web-1'), ready('web-2'), ready('web-3')];

  it('a selector that matches no pod → selector:', () => {
    const d = diagnoseService(service, [web], [], [], 'curl exit 7 (connection refused)');
    expect(d).toMatchObject({ reason: 'NoEndpoints', terminal: true });
    expect(d.message).toBe(
      'Service lab85/web has no endpoints: its selector (app.kubernetes.io/name=web) matches none of the pods (last: curl exit 7 (connection refused)).',
    );
    expect(`${d.location.file}:${d.location.line}`).toBe('k8s/service.yaml:10');
  });

  it('the targetPort of the passing example, answered by nothing: not terminal, at targetPort', () => {
    const d = diagnoseService(
      service,
      [web],
      pods,
      [slice([{ name: 'http', port: 8080 }])],
      'curl exit 28 (timed out)',
    );
    expect(d).toMatchObject({ reason: 'NoAnswer', terminal: false });
    expect(`${d.location.file}:${d.location.line}`).toBe('k8s/service.yaml:15');
  });
});
