/**
 * Putting the isolation in place on a target, and proving it holds before a
 * lab's object is applied:
 *
 *  1. read the target's API discovery (which kinds are namespaced);
 *  2. kind: install the grading-cluster bundle (identities, RBAC, admission
 *     policies) and the node egress guard; existing: check the operator
 *     installed the bundle (deploy/grading-cluster/);
 *  3. give every job namespace its guard rails (egress policy, quota, limits,
 *     the applier's RoleBindings);
 *  4. ask the API server, as the lab's identity and with server-side dry
 *     runs, to accept what it must refuse (a ClusterRoleBinding, a claim
 *     that picks its PersistentVolume, a hostPath pod): if any is accepted,
 *     nothing of the lab is applied and the submission is not gradable here.
 */
import { InfrastructureError, NotGradableError, type Clock } from '@labgrader/core';
import { firstLine, type Tool } from '../commands.js';
import type { Json } from '../labels.js';
import type { IsolationSettings } from '../settings.js';
import { parseApiResources, scopesFromDiscovery, type ApiScopes } from './api-resources.js';
import {
  APPLIER,
  APPLIER_USER,
  GRADER,
  POLICY_NAMES,
  SYSTEM_NAMESPACE,
  gradingClusterBundle,
} from './cluster-policy.js';
import { namespaceGuardrails } from './guardrails.js';
import { nodeGuardScript, nodeIpsOf, podCidrsOf, type NodeList } from './node-guard.js';

const CONNECTION_TROUBLE =
  /Unable to connect to the server|connection refused|i\/o timeout|TLS handshake timeout|context deadline exceeded|no such host/i;

function list(items: readonly Json[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

function unavailable(message: string, hint: string): NotGradableError {
  return new NotGradableError('cluster-unavailable', message, { hint });
}

/** The target's own answer to "which kinds exist, and which are namespaced". */
export async function discoverScopes(kubectl: Tool): Promise<ApiScopes> {
  const result = await kubectl.run(['api-resources', '-o', 'wide'], { timeoutMs: 90_000, unrecorded: true });
  // kubectl exits 1 when one aggregated API is unavailable (metrics-server starting) but lists the rest.
  const resources = parseApiResources(result.stdout);
  if (resources.length === 0) {
    throw new InfrastructureError(
      `kubectl api-resources listed nothing: ${firstLine(result.stderr) || `exit ${result.exitCode}`}`,
    );
  }
  return scopesFromDiscovery(resources, 'the grading cluster’s API discovery');
}

/** kind: the bundle goes into each new cluster, before anything of the lab. */
export async function installClusterPolicy(kubectl: Tool): Promise<void> {
  const result = await kubectl.run(['apply', '-f', '-'], {
    input: list(gradingClusterBundle({ grader: false })),
    timeoutMs: 90_000,
  });
  if (result.exitCode !== 0) {
    throw new InfrastructureError(`installing labgrader's admission policies failed: ${firstLine(result.stderr)}`);
  }
}

/** Existing clusters: the operator installs the bundle once; without it nothing of a lab is applied. */
export async function checkClusterPolicy(kubectl: Tool): Promise<void> {
  const hint =
    'An operator of the cluster applies labgrader’s grading-cluster manifests once (kubectl apply -f deploy/grading-cluster/), which create the labgrader-applier identity and the admission policies every job relies on.';
  const policies = await kubectl.run(
    ['get', 'validatingadmissionpolicybindings', POLICY_NAMES.pods, POLICY_NAMES.labObjects, '-o', 'name'],
    { timeoutMs: 30_000 },
  );
  if (policies.exitCode !== 0) {
    throw unavailable(
      `the cluster does not have labgrader's admission policies (${firstLine(policies.stderr)}), so untrusted labs cannot be graded in it`,
      hint,
    );
  }
  const impersonate = await kubectl.run(
    ['auth', 'can-i', 'impersonate', `serviceaccounts/${APPLIER}`, '-n', SYSTEM_NAMESPACE],
    { timeoutMs: 30_000 },
  );
  if (impersonate.stdout.trim() !== 'yes') {
    throw unavailable(
      `the grader's credentials may not act as ${SYSTEM_NAMESPACE}/${APPLIER}, the identity a lab's objects are applied as`,
      `${hint} Run the grader as ${SYSTEM_NAMESPACE}/${GRADER} (its RBAC is in those manifests), or grant it impersonate on serviceaccounts/${APPLIER}.`,
    );
  }
}

/** kind: the node egress guard in every node (docker exec). Returns what it did, for the evidence. */
export async function installNodeGuard(
  docker: Tool,
  nodes: readonly string[],
  cluster: NodeList,
): Promise<{ podCidrs: string[] }> {
  const podCidrs = podCidrsOf(cluster);
  const script = nodeGuardScript(podCidrs, nodeIpsOf(cluster));
  for (const node of nodes) {
    const result = await docker.run(['exec', node, 'sh', '-c', script], { timeoutMs: 60_000 });
    if (result.exitCode !== 0 || Number(result.stdout.trim().split('\n').pop()) < 2) {
      throw unavailable(
        `the egress guard could not be installed in the kind node ${node}: ${firstLine(result.stderr || result.stdout) || `exit ${result.exitCode}`}`,
        'The node must have iptables (every kind node image does). This is the grading machine’s problem, not the lab’s.',
      );
    }
  }
  return { podCidrs };
}

/** Guard rails of every job namespace, applied by the grader (the lab cannot change them). */
export async function applyGuardrails(
  kubectl: Tool,
  namespaces: readonly string[],
  job: string,
  isolation: IsolationSettings,
  options: { graderServiceAccount?: boolean; sleep: (ms: number) => Promise<void> },
): Promise<void> {
  for (const namespace of namespaces) {
    const objects = namespaceGuardrails({
      namespace,
      job,
      isolation,
      ...(options.graderServiceAccount ? { graderServiceAccount: { name: GRADER, namespace: SYSTEM_NAMESPACE } } : {}),
    });
    if (options.graderServiceAccount) {
      // The grader's own RoleBinding first: the rest needs the rights it grants, once RBAC has seen it.
      const [own, ...rest] = objects;
      await applyOrThrow(kubectl, [own!], namespace);
      for (let i = 0; i < 20; i++) {
        const can = await kubectl.run(['auth', 'can-i', 'create', 'networkpolicies', '-n', namespace], {
          unrecorded: true,
        });
        if (can.stdout.trim() === 'yes') break;
        await options.sleep(250);
      }
      await applyOrThrow(kubectl, rest, namespace);
    } else {
      await applyOrThrow(kubectl, objects, namespace);
    }
  }
}

async function applyOrThrow(kubectl: Tool, objects: readonly Json[], namespace: string): Promise<void> {
  const result = await kubectl.run(['apply', '-f', '-'], { input: list(objects), timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new InfrastructureError(
      `applying the guard rails of namespace ${namespace} failed: ${firstLine(result.stderr || result.stdout)}`,
    );
  }
}

export interface EnforcementProbe {
  /** What the lab would try. */
  attempt: string;
  manifest: Json;
  /** The refusal must come from labgrader's admission policy (its message starts with "labgrader:"). */
  policyRefusal: boolean;
}

export function enforcementProbes(namespace: string): EnforcementProbe[] {
  return [
    {
      attempt: 'a ClusterRoleBinding to cluster-admin',
      policyRefusal: false,
      manifest: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'labgrader-enforcement-probe' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace }],
      },
    },
    {
      attempt: 'a claim bound to a PersistentVolume of its choice',
      policyRefusal: true,
      manifest: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'labgrader-enforcement-probe', namespace },
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeName: 'anyone-else',
          resources: { requests: { storage: '1Mi' } },
        },
      },
    },
    {
      attempt: 'a pod mounting the node’s root filesystem',
      policyRefusal: false,
      manifest: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'labgrader-enforcement-probe', namespace },
        spec: {
          containers: [
            {
              name: 'probe',
              image: 'registry.k8s.io/pause:3.10',
              resources: { limits: { cpu: '10m', memory: '16Mi' } },
            },
          ],
          volumes: [{ name: 'root', hostPath: { path: '/' } }],
        },
      },
    },
  ];
}

/**
 * Server-side dry runs, as the lab's identity, of what must be refused. The
 * admission policies take a moment to be enforced after they are created,
 * so each probe is retried for up to `timeoutMs` before concluding.
 */
export async function verifyEnforcement(
  applier: Tool,
  namespace: string,
  deps: { clock: Clock; sleep: (ms: number) => Promise<void>; timeoutMs: number },
): Promise<string[]> {
  const started = deps.clock.monotonicMs();
  // The probes are independent: asked at once (each retried on its own), reported in their order.
  return Promise.all(
    enforcementProbes(namespace).map(async (probe) => {
      for (;;) {
        const result = await applier.run(['create', '--dry-run=server', '-f', '-'], {
          input: list([probe.manifest]),
          unrecorded: true,
          timeoutMs: 30_000,
        });
        const message = firstLine(result.stderr || result.stdout);
        if (CONNECTION_TROUBLE.test(message))
          throw new InfrastructureError(`checking the admission policies: ${message}`);
        const ok = result.exitCode !== 0 && (!probe.policyRefusal || /labgrader:/.test(result.stderr));
        if (ok)
          return `${probe.attempt}: refused (${message.replace(/^Error from server \(\w+\): /, '').slice(0, 160)})`;
        if (deps.clock.monotonicMs() - started >= deps.timeoutMs) {
          throw unavailable(
            `the grading cluster accepted ${probe.attempt} from ${APPLIER_USER} (server-side dry run), so its isolation is not in force; nothing of the lab was applied`,
            'Check that the cluster enforces ValidatingAdmissionPolicies (Kubernetes 1.30 or later) and that labgrader’s grading-cluster manifests are applied unchanged.',
          );
        }
        await deps.sleep(500);
      }
    }),
  );
}
