/**
 * Canned answers for the commands the stage runs against a kind cluster
 * holding one Deployment (lab85/web), on a timeline driven by the fake
 * clock: the replacement of a deleted pod is Ready `podKill.readyAfterMs`
 * after the delete, a killed container is back after `containerKill.readyAfterMs`,
 * a bad rollout keeps `rollout.minReady` pods Ready until the undo, which
 * completes after `rollout.undoReadyAfterMs`. Nothing here is Kubernetes: it
 * is a script, so the tests can check what the stage asks, in which order,
 * and what it concludes from the answers.
 */
import { readFileSync } from 'node:fs';
import type { Call, FakeClock, FakeRunner } from './fake.js';

export interface Script {
  replicas: number;
  /** The Deployment becomes Ready this long after `kubectl apply` (never, when undefined). */
  readyAfterMs?: number;
  podKill: { readyAfterMs: number; goneAfterMs: number };
  containerKill: { readyAfterMs: number };
  /**
   * `oldPodDeletedAfterMs`: the rolling update scales one old pod down this
   * long after the bad image is set (it is then Terminating for 3 s).
   */
  rollout: { minReady: number; undoReadyAfterMs: number; oldPodDeletedAfterMs?: number };
  /** Node probe loop output per drill (lines `<ms> <curl exit> <code>`), in drill order. */
  probeOutputs: string[];
  /** The one-shot baseline probe answers this (`200`, or `000` for no answer). */
  baselineCode?: string;
  /** The Service's EndpointSlice port (its targetPort as resolved; `null`: a named targetPort no container has). */
  endpointPort?: number | null;
  /** Once Ready, the kubelet kills each pod's container this often for failing its liveness probe. */
  livenessKillEveryMs?: number;
  /**
   * The kubelet's probe counters (/metrics/probes): `counted` (the default)
   * answers them (the lab's liveness probe runs every 10 s from 5 s after
   * Ready, failing when livenessKillEveryMs is set); `refused`: RBAC says no.
   */
  livenessCounters?: 'counted' | 'refused';
  /** Why the pods never start (with readyAfterMs undefined): their statuses and events, as the kubelet shows them. */
  trouble?: 'pull' | 'crash' | 'sandbox-oom';
}

interface FakePod {
  name: string;
  createdAt: number;
  readyAt: number;
  deletingAt?: number;
  goneAt?: number;
  restarts: number;
  containerId: string;
  image: string;
  notReadyFrom?: number;
}

const IMAGE = 'ghcr.io/labgrader-examples/lab85-web:1.0.0';
/** What containerd says when the registry's name does not resolve (the offline node). */
export const PULL_CAUSE =
  'failed to pull and unpack image "ghcr.io/labgrader-examples/lab85-web:1.0.0": failed to resolve reference "ghcr.io/labgrader-examples/lab85-web:1.0.0": failed to do request: Head "https://ghcr.io/v2/labgrader-examples/lab85-web/manifests/1.0.0": dial tcp: lookup ghcr.io on 127.0.0.11:53: read udp 127.0.0.1:36391->127.0.0.11:53: i/o timeout';
/** What the kubelet says when runc's init is OOM-killed in a pod of a 1Mi limit. */
export const SANDBOX_OOM =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: container init was OOM-killed (memory limit too low?): unknown';

export interface ScriptedCluster {
  pods: FakePod[];
  /** Probe loop scripts started (the shell text). */
  probeScripts: string[];
  stopFiles: string[];
}

export function scriptKindCluster(runner: FakeRunner, clock: FakeClock, script: Script): ScriptedCluster {
  const state: ScriptedCluster = { pods: [], probeScripts: [], stopFiles: [] };
  let appliedAt: number | undefined;
  let podSeq = 0;
  let image = IMAGE;
  let badSince: number | undefined;
  let undoAt: number | undefined;
  let generation = 1;
  const pendingProbes: { resolve: (stdout: string) => void; output: string }[] = [];
  let probeIndex = 0;

  const newPod = (readyAt: number, podImage = IMAGE): FakePod => {
    const pod: FakePod = {
      name: `web-abc-${String.fromCharCode(97 + podSeq++)}${podSeq}`,
      createdAt: clock.t,
      readyAt,
      restarts: 0,
      containerId: `c${podSeq}`,
      image: podImage,
    };
    state.pods.push(pod);
    return pod;
  };
  const live = () => state.pods.filter((p) => p.goneAt === undefined || p.goneAt > clock.t);
  const isReady = (p: FakePod) =>
    p.image === IMAGE &&
    p.readyAt <= clock.t &&
    (p.deletingAt === undefined || p.deletingAt > clock.t) &&
    (p.notReadyFrom === undefined || p.notReadyFrom > clock.t);
  const readyCount = () => {
    let n = live().filter(isReady).length;
    if (badSince !== undefined && undoAt === undefined) n = Math.min(n, script.rollout.minReady);
    if (undoAt !== undefined && clock.t < undoAt + script.rollout.undoReadyAfterMs)
      n = Math.min(n, script.rollout.minReady);
    return n;
  };
  /** Liveness kills so far of a Ready pod (script.livenessKillEveryMs). */
  const kills = (p: FakePod) =>
    script.livenessKillEveryMs && Number.isFinite(p.readyAt) && clock.t > p.readyAt
      ? Math.floor((clock.t - p.readyAt) / script.livenessKillEveryMs)
      : 0;
  const at = (ms: number) => new Date(clock.base + ms).toISOString();
  /** Liveness results of a running pod so far: one every 10 s, the first 5 s after Ready. */
  const livenessResults = (p: FakePod) =>
    p.image === IMAGE && Number.isFinite(p.readyAt) && clock.t >= p.readyAt + 5_000
      ? 1 + Math.floor((clock.t - p.readyAt - 5_000) / 10_000)
      : 0;
  const livenessFailures = (p: FakePod) => (script.livenessKillEveryMs ? livenessResults(p) : 0);
  /** The container's state while it cannot start (script.trouble), `since` ms after the pod was created. */
  const troubleState = (p: FakePod) => {
    const since = clock.t - p.createdAt;
    switch (script.trouble) {
      case 'pull':
        return {
          restartCount: 0,
          state: {
            waiting:
              since < 12_000
                ? { reason: 'ContainerCreating' }
                : since < 15_000
                  ? { reason: 'ErrImagePull', message: PULL_CAUSE }
                  : {
                      reason: 'ImagePullBackOff',
                      message: `Back-off pulling image "${p.image}": ErrImagePull: ${PULL_CAUSE}`,
                    },
          },
        };
      case 'crash': {
        const restarts = Math.min(5, Math.floor(since / 6_000));
        return {
          restartCount: restarts,
          state:
            restarts === 0
              ? { running: {} }
              : { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=web' } },
          ...(restarts > 0 ? { lastState: { terminated: { reason: 'Error', exitCode: 1 } } } : {}),
        };
      }
      case 'sandbox-oom':
        return { restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } };
      default:
        return undefined;
    }
  };
  const troubleEvents = () =>
    live().flatMap((p) => {
      const since = clock.t - p.createdAt;
      const on = (reason: string, message: string, count: number, extra: object = {}) => ({
        metadata: { name: `${p.name}.${reason}`, creationTimestamp: at(p.createdAt) },
        involvedObject: { kind: 'Pod', name: p.name, fieldPath: 'spec.containers{web}' },
        reason,
        message,
        count,
        type: 'Warning',
        lastTimestamp: at(clock.t),
        ...extra,
      });
      if (script.trouble === 'pull' && since >= 12_000) {
        const n = 1 + Math.floor((since - 12_000) / 10_000);
        return [
          on('Failed', `Failed to pull image "${p.image}": ${PULL_CAUSE}`, n),
          on('Failed', 'Error: ErrImagePull', n),
        ];
      }
      if (script.trouble === 'crash' && since >= 6_000) {
        return [
          on(
            'Unhealthy',
            'Readiness probe failed: Get "http://10.244.0.9:8080/readyz": dial tcp 10.244.0.9:8080: connect: connection refused',
            2,
          ),
          on('BackOff', 'Back-off restarting failed container web in pod ' + p.name, Math.floor(since / 6_000)),
        ];
      }
      if (script.trouble === 'sandbox-oom' && since >= 2_000) {
        const n = 1 + Math.floor((since - 2_000) / 4_000);
        return [
          {
            ...on('FailedCreatePodSandBox', SANDBOX_OOM, n),
            involvedObject: { kind: 'Pod', name: p.name },
          },
        ];
      }
      // A failing liveness probe: an Unhealthy event at each failure (every 10 s), a kill every livenessKillEveryMs.
      const failures = livenessFailures(p);
      const k = kills(p);
      return [
        ...(failures > 0
          ? [
              {
                ...on('Unhealthy', 'Liveness probe failed: HTTP probe failed with statuscode: 404', failures),
                lastTimestamp: at(p.readyAt + 5_000 + (failures - 1) * 10_000),
              },
            ]
          : []),
        ...(k > 0
          ? [
              {
                ...on('Killing', 'Container web failed liveness probe, will be restarted', k),
                type: 'Normal',
                lastTimestamp: at(p.readyAt + k * script.livenessKillEveryMs!),
              },
            ]
          : []),
      ];
    });
  const podJson = (p: FakePod) => ({
    metadata: {
      name: p.name,
      namespace: 'lab85',
      labels: { 'app.kubernetes.io/name': 'web' },
      creationTimestamp: new Date(clock.base + p.createdAt).toISOString(),
      ...(p.deletingAt !== undefined && p.deletingAt <= clock.t
        ? { deletionTimestamp: new Date(clock.base + p.deletingAt).toISOString() }
        : {}),
    },
    spec: {
      nodeName: 'labgrader-000001-control-plane',
      containers: [
        {
          name: 'web',
          image: p.image,
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ],
        },
      ],
    },
    status: {
      phase: p.image === IMAGE && script.trouble !== 'sandbox-oom' ? 'Running' : 'Pending',
      conditions: [
        { type: 'Ready', status: isReady(p) ? 'True' : 'False' },
        ...(script.trouble === 'sandbox-oom' ? [{ type: 'PodReadyToStartContainers', status: 'False' }] : []),
      ],
      containerStatuses: [
        {
          name: 'web',
          ready: isReady(p),
          restartCount: p.restarts + kills(p),
          containerID: `containerd://${p.containerId}`,
          state:
            p.image === IMAGE
              ? { running: {} }
              : { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${p.image}"` } },
          ...(kills(p) > 0 ? { lastState: { terminated: { reason: 'Completed', exitCode: 0 } } } : {}),
          ...(p.image === IMAGE ? troubleState(p) : {}),
        },
      ],
    },
  });
  const deployment = () => {
    const ready = appliedAt !== undefined ? readyCount() : 0;
    const rolledBack = undoAt !== undefined && clock.t >= undoAt + script.rollout.undoReadyAfterMs;
    const stable = badSince === undefined || rolledBack;
    return {
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'lab85', generation },
      spec: { replicas: script.replicas, template: { spec: { containers: [{ name: 'web', image }] } } },
      status: {
        observedGeneration: generation,
        replicas: stable ? script.replicas : script.replicas + 1,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: stable ? ready : 1,
      },
    };
  };
  const json = (value: unknown) => ({ stdout: JSON.stringify(value) });

  runner
    .on(/^kind version$/, { stdout: 'kind v0.30.0 go1.24 linux/amd64\n' })
    .on(/^kubectl (.* )?version --client$/, { stdout: 'Client Version: v1.34.4\n' })
    .on(/^docker info/, { stdout: '20.10.24\n' })
    .on(/^docker image inspect/, { stdout: 'sha256:abc\n' })
    .on(/^kind create cluster/, { stderr: 'Creating cluster ...\n' })
    .on(/rollout status (daemonset\/kube-proxy|deployment\/coredns)/, { stdout: 'successfully rolled out\n' })
    .on(/^kind load docker-image/, { stdout: '' })
    .on(/^kubectl .*(apply|create) -f -$/, (c: Call) => {
      const input = JSON.parse(c.options.input ?? '{}') as { items: { kind: string }[] };
      if (input.items.some((i) => i.kind === 'Deployment') && appliedAt === undefined) {
        appliedAt = clock.t;
        if (script.readyAfterMs !== undefined) {
          for (let i = 0; i < script.replicas; i++) newPod(clock.t + script.readyAfterMs);
        } else {
          for (let i = 0; i < script.replicas; i++) newPod(Number.POSITIVE_INFINITY);
        }
      }
      return { stdout: input.items.map((i) => `${i.kind.toLowerCase()}/x created`).join('\n') };
    })
    .on(/get deployments\.apps,statefulsets\.apps,daemonsets\.apps -o json$/, () => json({ items: [deployment()] }))
    .on(/get deployments\.apps\/web -o json$/, () => json(deployment()))
    .on(/get pods -l app\.kubernetes\.io\/name=web -o json$/, () => json({ items: live().map(podJson) }))
    .on(/get pods -o json$/, () => json({ items: live().map(podJson) }))
    .on(/get endpointslices\.discovery\.k8s\.io -l kubernetes\.io\/service-name=web -o json$/, () =>
      json({
        items: [
          {
            metadata: { name: 'web-x1' },
            ports: script.endpointPort === null ? null : [{ name: 'http', port: script.endpointPort ?? 8080 }],
            endpoints: live()
              .filter(isReady)
              .map((p, i) => ({
                addresses: [`10.244.0.${10 + i}`],
                conditions: { ready: true },
                targetRef: { kind: 'Pod', name: p.name },
              })),
          },
        ],
      }),
    )
    .on(/get events -o json$/, () =>
      json({
        items: [
          ...troubleEvents(),
          {
            metadata: { name: 'e1', creationTimestamp: new Date(clock.base + clock.t).toISOString() },
            involvedObject: { kind: 'Pod', name: state.pods[0]?.name ?? 'web-abc-a1' },
            reason: script.readyAfterMs === undefined ? 'Unhealthy' : 'Started',
            message:
              script.readyAfterMs === undefined
                ? 'Readiness probe failed: HTTP probe failed with statuscode: 404'
                : 'Started container web',
            count: 3,
            lastTimestamp: new Date(clock.base + clock.t).toISOString(),
          },
        ],
      }),
    )
    .on(/ logs \S+ -c web --previous --tail=5$/, () =>
      script.trouble === 'crash'
        ? {
            stdout:
              '2026/11/21 10:00:06 listening on :8080\n2026/11/21 10:00:06 listen tcp :8080: bind: address already in use\n',
          }
        : { exitCode: 1, stderr: 'Error from server (BadRequest): previous terminated container "web" not found\n' },
    )
    .on(/ get --raw \/api\/v1\/nodes\/[^/\s]+\/proxy\/metrics\/probes$/, () =>
      script.livenessCounters === 'refused'
        ? {
            exitCode: 1,
            stderr:
              'Error from server (Forbidden): nodes "labgrader-000001-control-plane" is forbidden: User "x" cannot get resource "nodes/proxy"\n',
          }
        : {
            stdout: [
              '# HELP prober_probe_total [ALPHA] Cumulative number of a liveness, readiness or startup probe for a container by result.',
              '# TYPE prober_probe_total counter',
              ...live().flatMap((p) => {
                const labels = `container="web",namespace="lab85",pod="${p.name}",pod_uid="u-${p.name}",probe_type="Liveness"`;
                const results = livenessResults(p);
                const failed = livenessFailures(p);
                return [
                  `prober_probe_total{${labels},result="failed"} ${failed}`,
                  `prober_probe_total{${labels},result="successful"} ${results - failed}`,
                  `prober_probe_total{container="web",namespace="lab85",pod="${p.name}",pod_uid="u-${p.name}",probe_type="Readiness",result="successful"} ${results * 2}`,
                ];
              }),
              '',
            ].join('\n'),
          },
    )
    .on(/get service\/web -o json$/, () => json({ spec: { clusterIP: '10.96.0.10' } }))
    .on(/^docker exec \S+ sh -c echo/, () => ({
      // `000` is curl getting no HTTP answer: connection refused (exit 7).
      stdout: `${clock.base + clock.t} ${script.baselineCode ?? '200'} ${script.baselineCode === '000' ? 7 : 0}\n`,
    }))
    .on(/^docker exec \S+ sh -c end=/, (c: Call) => {
      state.probeScripts.push(c.args[4] ?? '');
      const output = script.probeOutputs[probeIndex++] ?? '';
      return new Promise<{ stdout: string }>((resolve) =>
        pendingProbes.push({ resolve: (stdout) => resolve({ stdout }), output }),
      );
    })
    .on(/^docker exec \S+ touch /, (c: Call) => {
      state.stopFiles.push(c.args[3] ?? '');
      const probe = pendingProbes.shift();
      probe?.resolve(probe.output);
      return { stdout: '' };
    })
    .on(/delete pod (\S+) --wait=false$/, (c: Call) => {
      const name = c.args[c.args.length - 2]!;
      const victim = state.pods.find((p) => p.name === name)!;
      victim.deletingAt = clock.t;
      victim.goneAt = clock.t + script.podKill.goneAfterMs;
      newPod(clock.t + script.podKill.readyAfterMs);
      return { stdout: `pod "${name}" deleted\n` };
    })
    .on(/^docker exec \S+ ctr -n k8s\.io tasks kill --signal SIGKILL (\S+)$/, (c: Call) => {
      const id = c.args[c.args.length - 1];
      const pod = state.pods.find((p) => p.containerId === id)!;
      pod.restarts += 1;
      pod.notReadyFrom = clock.t;
      pod.readyAt = clock.t + script.containerKill.readyAfterMs;
      pod.notReadyFrom = undefined;
      return { stdout: '' };
    })
    .on(/set image deployment\/web web=(\S+)$/, (c: Call) => {
      image = c.args[c.args.length - 1]!.split('=')[1]!;
      generation += 1;
      badSince = clock.t;
      if (script.rollout.oldPodDeletedAfterMs !== undefined) {
        const old = live().find((p) => isReady(p));
        if (old) {
          old.deletingAt = clock.t + script.rollout.oldPodDeletedAfterMs;
          old.goneAt = old.deletingAt + 3_000;
        }
      }
      newPod(Number.POSITIVE_INFINITY, image);
      return { stdout: 'deployment.apps/web image updated\n' };
    })
    .on(/rollout undo deployment\/web$/, () => {
      image = IMAGE;
      generation += 1;
      undoAt = clock.t;
      for (const p of state.pods) if (p.image !== IMAGE) p.goneAt = clock.t;
      // The old ReplicaSet scales back up: the pod the rollout scaled down is replaced.
      if (script.rollout.oldPodDeletedAfterMs !== undefined) newPod(clock.t + script.rollout.undoReadyAfterMs);
      return { stdout: 'deployment.apps/web rolled back\n' };
    })
    .on(/^kind delete cluster/, { stderr: 'Deleting cluster ...\n' })
    .on(/^docker ps -aq --filter label=io\.x-k8s\.kind\.cluster=/, { stdout: '' });
  scriptIsolation(runner);
  return state;
}

/** `kubectl api-resources -o wide` as the offline kind cluster (v1.34.4) printed it. */
export const API_RESOURCES_V1_34 = readFileSync(
  new URL('../fixtures/api-resources-v1.34.txt', import.meta.url),
  'utf8',
);

/**
 * What the isolation steps ask (see src/isolation/enforce.ts), answered as a
 * cluster that enforces labgrader's policies: API discovery, the nodes' pod
 * CIDR, the node egress guard, and server-side dry runs of the enforcement
 * probes, each refused. Registered last, so these specific answers win.
 */
export function scriptIsolation(runner: FakeRunner, options: { enforced?: boolean } = {}): { dryRuns: string[] } {
  const dryRuns: string[] = [];
  const enforced = options.enforced ?? true;
  runner
    .on(/ api-resources -o wide$/, { stdout: API_RESOURCES_V1_34 })
    .on(/ get nodes -o json$/, {
      stdout: JSON.stringify({ items: [{ metadata: { name: 'n' }, spec: { podCIDR: '10.244.0.0/24' } }] }),
    })
    .on(/^docker exec \S+ sh -c set -e\niptables/, { stdout: '2\n' })
    .on(/ label namespace default /, { stdout: 'namespace/default labeled\n' })
    .on(/ auth can-i create networkpolicies -n /, { stdout: 'yes\n' })
    .on(/ get validatingadmissionpolicybindings labgrader-job-pods labgrader-lab-objects -o name$/, {
      stdout: 'validatingadmissionpolicybinding.admissionregistration.k8s.io/labgrader-job-pods\n',
    })
    .on(/ auth can-i impersonate serviceaccounts\/labgrader-applier -n labgrader-system$/, { stdout: 'yes\n' })
    .on(/--as=system:serviceaccount:labgrader-system:labgrader-applier create --dry-run=server -f -$/, (c: Call) => {
      const kind = (JSON.parse(c.options.input ?? '{}') as { items: { kind: string }[] }).items[0]?.kind ?? '';
      dryRuns.push(kind);
      if (!enforced) return { stdout: `${kind.toLowerCase()}/labgrader-enforcement-probe created (server dry run)\n` };
      return {
        exitCode: 1,
        stderr:
          kind === 'PersistentVolumeClaim'
            ? "The persistentvolumeclaims \"labgrader-enforcement-probe\" is invalid: : ValidatingAdmissionPolicy 'labgrader-lab-objects' with binding 'labgrader-lab-objects' denied request: labgrader: a lab’s claims may not choose the PersistentVolume they bind to\n"
            : `Error from server (Forbidden): ${kind.toLowerCase()} is forbidden: User "system:serviceaccount:labgrader-system:labgrader-applier" cannot create resource\n`,
      };
    });
  return { dryRuns };
}
