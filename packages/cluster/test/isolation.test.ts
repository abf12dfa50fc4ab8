/**
 * The cluster stage's allow-list, on a real hostile repository
 * (test/fixtures/hostile-lab: the passing example's web service plus every
 * attack a student tried on the grading cluster), read by the same discovery
 * the stage uses. Each attack must be refused or defused at its line, with a
 * reason addressed to the student, and the web service must still be planned.
 *
 * The same fixture is applied to a real kind cluster in kind.real.test.ts,
 * where the cluster's own RBAC and admission policies must refuse the same
 * things again.
 */
import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { discoverObjects, defaultLintSettings } from '@labgrader/manifest-lint';
import { buildPlan, type DeployPlan } from '../src/plan.js';
import {
  parseApiResources,
  scopesFromDiscovery,
  bundledScopes,
  type ApiScopes,
} from '../src/isolation/api-resources.js';
import { gradingClusterBundle, APPLIER_USER } from '../src/isolation/cluster-policy.js';
import { namespaceGuardrails } from '../src/isolation/guardrails.js';
import { nodeGuardScript, podCidrsOf } from '../src/isolation/node-guard.js';
import { isolationSettingsSchema } from '../src/settings.js';
import { repoOf, writeLab } from './helpers/fake.js';

const HOSTILE = new URL('./fixtures/hostile-lab/', import.meta.url).pathname;
const secrets = { synthesize: true, exclude: [] as string[] };

async function hostileObjects() {
  return (await discoverObjects({ repo: await repoOf(HOSTILE), settings: defaultLintSettings() })).objects;
}

function refusals(plan: DeployPlan): string[] {
  return plan.refused.map((r) => `${r.location.file}:${r.location.line} ${r.subject} [${r.rule}]`);
}

/** What `kubectl api-resources -o wide` printed on the offline kind cluster (v1.34), abridged. */
const API_RESOURCES = `NAME                                SHORTNAMES   APIVERSION                        NAMESPACED   KIND                               VERBS                                                        CATEGORIES
configmaps                          cm           v1                                true         ConfigMap                          create,delete,deletecollection,get,list,patch,update,watch
endpoints                           ep           v1                                true         Endpoints                          create,delete,deletecollection,get,list,patch,update,watch
namespaces                          ns           v1                                false        Namespace                          create,delete,get,list,patch,update,watch
nodes                               no           v1                                false        Node                               create,delete,deletecollection,get,list,patch,update,watch
persistentvolumeclaims              pvc          v1                                true         PersistentVolumeClaim              create,delete,deletecollection,get,list,patch,update,watch
persistentvolumes                   pv           v1                                false        PersistentVolume                   create,delete,deletecollection,get,list,patch,update,watch
pods                                po           v1                                true         Pod                                create,delete,deletecollection,get,list,patch,update,watch   all
secrets                                          v1                                true         Secret                             create,delete,deletecollection,get,list,patch,update,watch
serviceaccounts                     sa           v1                                true         ServiceAccount                     create,delete,deletecollection,get,list,patch,update,watch
services                            svc          v1                                true         Service                            create,delete,deletecollection,get,list,patch,update,watch   all
validatingwebhookconfigurations                  admissionregistration.k8s.io/v1   false        ValidatingWebhookConfiguration     create,delete,deletecollection,get,list,patch,update,watch   api-extensions
customresourcedefinitions           crd,crds     apiextensions.k8s.io/v1           false        CustomResourceDefinition           create,delete,deletecollection,get,list,patch,update,watch   api-extensions
deployments                         deploy       apps/v1                           true         Deployment                         create,delete,deletecollection,get,list,patch,update,watch   all
flowschemas                                      flowcontrol.apiserver.k8s.io/v1   false        FlowSchema                         create,delete,deletecollection,get,list,patch,update,watch
networkpolicies                     netpol       networking.k8s.io/v1              true         NetworkPolicy                      create,delete,deletecollection,get,list,patch,update,watch
clusterrolebindings                              rbac.authorization.k8s.io/v1      false        ClusterRoleBinding                 create,delete,deletecollection,get,list,patch,update,watch
clusterroles                                     rbac.authorization.k8s.io/v1      false        ClusterRole                        create,delete,deletecollection,get,list,patch,update,watch
rolebindings                                     rbac.authorization.k8s.io/v1      true         RoleBinding                        create,delete,deletecollection,get,list,patch,update,watch
roles                                            rbac.authorization.k8s.io/v1      true         Role                               create,delete,deletecollection,get,list,patch,update,watch
gatewayclasses                      gc           gateway.networking.k8s.io/v1      false        GatewayClass                       delete,deletecollection,get,list,patch,create,update,watch
`;

describe('API discovery', () => {
  it('reads kubectl api-resources -o wide by its header, empty SHORTNAMES included', () => {
    const resources = parseApiResources(API_RESOURCES);
    expect(resources.find((r) => r.kind === 'Secret')).toEqual({
      name: 'secrets',
      group: '',
      version: 'v1',
      kind: 'Secret',
      namespaced: true,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    });
    const scopes = scopesFromDiscovery(resources, 'test');
    expect(scopes.scopeOf('v1', 'PersistentVolume')).toBe('cluster');
    expect(scopes.scopeOf('apps/v1', 'Deployment')).toBe('namespaced');
    // Any served version of the group counts; a kind the cluster does not serve is unknown.
    expect(scopes.scopeOf('apps/v1beta2', 'Deployment')).toBe('namespaced');
    expect(scopes.scopeOf('gateway.networking.k8s.io/v1', 'GatewayClass')).toBe('cluster');
    expect(scopes.scopeOf('cert-manager.io/v1', 'ClusterIssuer')).toBeUndefined();
    expect(scopes.resourceScope('', 'nodes')).toBe('cluster');
    expect(scopes.resourceScope('', 'pods/log')).toBe('namespaced');
  });

  it('knows the built-in kinds from the bundled schema before a cluster exists', () => {
    const scopes = bundledScopes();
    expect(scopes.scopeOf('flowcontrol.apiserver.k8s.io/v1', 'FlowSchema')).toBe('cluster');
    expect(scopes.scopeOf('flowcontrol.apiserver.k8s.io/v1', 'PriorityLevelConfiguration')).toBe('cluster');
    expect(scopes.scopeOf('v1', 'ConfigMap')).toBe('namespaced');
    expect(scopes.scopeOf('example.com/v1', 'Backdoor')).toBeUndefined();
  });
});

describe('admission of a hostile lab', () => {
  const discovery: ApiScopes = scopesFromDiscovery(parseApiResources(API_RESOURCES), 'the test cluster');

  it('kind: refuses every cluster-scoped object and every way out, each at its line, and keeps the web service', async () => {
    const plan = buildPlan(await hostileObjects(), {
      mapping: { mode: 'kind', job: 'abc123' },
      secrets,
      scopes: discovery,
    });
    expect(refusals(plan).sort()).toEqual(
      [
        'k8s/cluster-wide.yaml:3 CustomResourceDefinition backdoors.example.com [cluster-scoped]',
        'k8s/cluster-wide.yaml:18 ValidatingWebhookConfiguration see-everything [cluster-scoped]',
        'k8s/cluster-wide.yaml:35 FlowSchema exempt-me [cluster-scoped]',
        'k8s/cluster-wide.yaml:54 ClusterIssuer anyone [served-kinds]',
        'k8s/cluster-wide.yaml:78 ClusterRole node-reader [cluster-scoped]',
        'k8s/network.yaml:32 Endpoints lab85/web-elsewhere [manual-endpoints]',
        'k8s/network.yaml:62 NetworkPolicy lab85/labgrader-egress [reserved-name]',
        'k8s/rbac.yaml:9 RoleBinding lab85/web-edit [rbac-binding]',
        'k8s/rbac.yaml:25 RoleBinding lab85/everyone-reads [rbac-binding]',
        'k8s/takeover.yaml:10 ClusterRoleBinding lab-admin [rbac-binding]',
        'k8s/takeover.yaml:20 Pod kube-system/rooter [system-namespace]',
        'k8s/takeover.yaml:31 PersistentVolume host-root [cluster-scoped]',
        'k8s/takeover.yaml:49 PersistentVolumeClaim lab85/host-root [volume-claim]',
      ].sort(),
    );
    const reason = (subject: string) => plan.refused.find((r) => r.subject === subject)!.reason;
    expect(reason('ClusterRoleBinding lab-admin')).toMatch(
      /binds the ClusterRole "cluster-admin", one of the cluster’s own roles, which would give the lab’s pods control beyond the lab; a lab may bind its own Roles or the ClusterRole view/,
    );
    expect(reason('PersistentVolume host-root')).toMatch(/hostPath one is the grading node’s own disk/);
    expect(reason('RoleBinding lab85/everyone-reads')).toMatch(
      /the Group "system:authenticated" \(a built-in identity/,
    );
    expect(reason('ClusterIssuer anyone')).toMatch(
      /does not serve cert-manager.io\/v1 ClusterIssuer \(checked against the test cluster\)/,
    );
    expect(reason('ClusterRole node-reader')).toMatch(/grants "nodes", which is not a namespaced resource/);

    // The web service is planned and targeted by the drills; nothing cluster-scoped is applied.
    const applied = plan.objects.map(
      (o) => `${String(o.manifest.kind)} ${o.namespace}/${String((o.manifest.metadata as { name: string }).name)}`,
    );
    expect(applied).toEqual(
      expect.arrayContaining(['Deployment lab85/web', 'Service lab85/web', 'ConfigMap lab85/web-config']),
    );
    expect(plan.objects.every((o) => o.namespace === 'lab85')).toBe(true);
    expect(plan.namespaces).toEqual(['lab85']);
  });

  it('defuses what can keep its meaning: ClusterRoles become Roles, exposed Services ClusterIP, egress stays in the job', async () => {
    const plan = buildPlan(await hostileObjects(), {
      mapping: { mode: 'kind', job: 'abc123' },
      secrets,
      scopes: discovery,
    });
    const manifest = (kind: string, name: string) =>
      plan.objects.find((o) => o.manifest.kind === kind && (o.manifest.metadata as { name: string }).name === name)!
        .manifest as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    // The aggregating ClusterRole: a Role of the lab's namespace, its aggregation label gone.
    expect(manifest('Role', 'secret-reader')).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'secret-reader', namespace: 'lab85', labels: { 'labgrader.dev/job': 'abc123' } },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    });
    expect(manifest('RoleBinding', 'web-reads-secrets').roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'secret-reader',
    });
    // A ClusterRoleBinding to an allowed role: a RoleBinding in the lab's namespace.
    expect(manifest('RoleBinding', 'web-view')).toMatchObject({
      metadata: { namespace: 'lab85' },
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'lab85' }],
    });
    expect(manifest('Service', 'web-nodeport').spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'web' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http' }],
    });
    expect(manifest('Service', 'web-lb').spec.type).toBe('ClusterIP');
    expect(manifest('Service', 'web-lb').spec.externalIPs).toBeUndefined();
    expect(manifest('NetworkPolicy', 'allow-all-egress').spec.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'labgrader.dev/job': 'abc123' } } }] },
      { to: [{ namespaceSelector: { matchLabels: { 'labgrader.dev/job': 'abc123' } } }] },
    ]);
    const changes = plan.changes.map((c) => `${c.location.file}:${c.location.line} ${c.subject} [${c.rule}]`);
    expect(changes.sort()).toEqual(
      [
        'k8s/cluster-wide.yaml:62 ClusterRole secret-reader [cluster-scoped]',
        'k8s/rbac.yaml:46 ClusterRoleBinding web-view [cluster-scoped]',
        'k8s/rbac.yaml:37 RoleBinding lab85/web-reads-secrets [rbac-binding]',
        'k8s/network.yaml:8 Service lab85/web-nodeport [exposed-service]',
        'k8s/network.yaml:23 Service lab85/web-lb [exposed-service]',
        'k8s/network.yaml:24 Service lab85/web-lb [exposed-service]',
        'k8s/network.yaml:53 NetworkPolicy lab85/allow-all-egress [network-policy]',
        'k8s/network.yaml:55 NetworkPolicy lab85/allow-all-egress [network-policy]',
      ].sort(),
    );
    // The namespace carries the job label (admission policies and egress rules select it) and keeps "restricted".
    expect(plan.namespaceObjects[0]!.manifest.metadata).toEqual({
      name: 'lab85',
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'app.kubernetes.io/managed-by': 'labgrader',
        'labgrader.dev/job': 'abc123',
      },
    });
  });

  it('existing cluster: the same refusals, and converted RBAC follows the lab into the job’s namespaces', async () => {
    const plan = buildPlan(await hostileObjects(), {
      mapping: { mode: 'existing', job: 'abc123', prefix: 'lg' },
      secrets,
      scopes: discovery,
    });
    expect(plan.refused.map((r) => r.subject)).toContain('ClusterRoleBinding lab-admin');
    expect(plan.refused.map((r) => r.subject)).toContain('FlowSchema exempt-me');
    const view = plan.objects.find((o) => (o.manifest.metadata as { name: string }).name === 'web-view')!;
    expect(view.manifest).toMatchObject({
      kind: 'RoleBinding',
      metadata: { namespace: 'lg-abc123-lab85' },
      subjects: [{ namespace: 'lg-abc123-lab85' }],
    });
    expect(plan.namespaces).toEqual(['lg-abc123-lab85']);
  });

  it('lets the grader’s probes through the lab’s own ingress policies (they add up, so nothing else opens)', async () => {
    const plan = buildPlan(await hostileObjects(), {
      mapping: { mode: 'kind', job: 'abc123' },
      secrets,
      scopes: discovery,
      probeSources: ['172.18.0.2', '172.18.0.3'],
    });
    const policy = (name: string) =>
      plan.objects.find(
        (o) => o.manifest.kind === 'NetworkPolicy' && (o.manifest.metadata as { name: string }).name === name,
      )!.manifest as { spec: { ingress?: unknown[] } };
    // allow-all-egress isolates egress only: no ingress rule added.
    expect(policy('allow-all-egress').spec.ingress).toBeUndefined();
    const dir = writeLab({
      'k8s/np.yaml':
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: only-frontend\n  namespace: shop\nspec:\n  podSelector: {}\n  ingress:\n    - from:\n        - podSelector: { matchLabels: { app: frontend } }\n',
    });
    try {
      const objects = (await discoverObjects({ repo: await repoOf(dir), settings: defaultLintSettings() })).objects;
      const own = buildPlan(objects, {
        mapping: { mode: 'kind', job: 'j' },
        secrets,
        scopes: discovery,
        probeSources: ['172.18.0.2'],
      });
      expect((own.objects[0]!.manifest as { spec: { ingress: unknown[] } }).spec.ingress).toEqual([
        { from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] },
        { from: [{ ipBlock: { cidr: '172.18.0.2/32' } }] },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rubric settings: refusing exposed Services, and allowing another ClusterRole', async () => {
    const plan = buildPlan(await hostileObjects(), {
      mapping: { mode: 'kind', job: 'abc123' },
      secrets,
      scopes: discovery,
      isolation: isolationSettingsSchema.parse({ exposedServices: 'refuse', allowedClusterRoles: ['view', 'edit'] }),
    });
    expect(refusals(plan)).toContain('k8s/network.yaml:8 Service lab85/web-nodeport [exposed-service]');
    expect(refusals(plan)).not.toContain('k8s/rbac.yaml:9 RoleBinding lab85/web-edit [rbac-binding]');
  });

  it('grades at most maxNamespaces namespaces, refusing the objects of the others at their namespace', async () => {
    const dir = writeLab({
      'k8s/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: one\n',
      'k8s/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: two\n',
    });
    try {
      const objects = (await discoverObjects({ repo: await repoOf(dir), settings: defaultLintSettings() })).objects;
      const plan = buildPlan(objects, {
        mapping: { mode: 'kind', job: 'abc123' },
        secrets,
        scopes: discovery,
        isolation: isolationSettingsSchema.parse({ maxNamespaces: 1 }),
      });
      expect(plan.namespaces).toEqual(['one']);
      expect(refusals(plan)).toEqual(['k8s/b.yaml:5 ConfigMap two/b [too-many-namespaces]']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('guard rails', () => {
  it('every job namespace: default-deny egress but DNS and the job, quota without node ports, limits, the applier’s bindings', () => {
    const objects = namespaceGuardrails({
      namespace: 'lab85',
      job: 'abc123',
      isolation: isolationSettingsSchema.parse({}),
    });
    expect(objects.map((o) => `${String(o.kind)} ${String((o.metadata as { name: string }).name)}`)).toEqual([
      'NetworkPolicy labgrader-egress',
      'ResourceQuota labgrader-quota',
      'LimitRange labgrader-limits',
      'RoleBinding labgrader-applier',
      'Role labgrader-bind-allowed-roles',
      'RoleBinding labgrader-bind-allowed-roles',
    ]);
    const quota = objects[1] as { spec: { hard: Record<string, string> } };
    expect(quota.spec.hard).toMatchObject({ 'services.nodeports': '0', 'services.loadbalancers': '0', pods: '30' });
    for (const o of objects) {
      expect((o.metadata as { labels: Record<string, string> }).labels).toEqual({
        'app.kubernetes.io/managed-by': 'labgrader',
        'labgrader.dev/job': 'abc123',
      });
    }
  });

  it('the grading-cluster bundle confines the applier and protects what labgrader made', () => {
    const bundle = gradingClusterBundle({ grader: true });
    const kinds = bundle.map((o) => `${String(o.kind)} ${String((o.metadata as { name: string }).name)}`);
    expect(kinds).toEqual([
      'Namespace labgrader-system',
      'ServiceAccount labgrader-applier',
      'ServiceAccount labgrader-grader',
      'ClusterRole labgrader-lab-author',
      'ClusterRole labgrader-job-operator',
      'ClusterRole labgrader-grader',
      'Role labgrader-impersonate-applier',
      'RoleBinding labgrader-impersonate-applier',
      'ClusterRoleBinding labgrader-grader',
      'ValidatingAdmissionPolicy labgrader-job-pods',
      'ValidatingAdmissionPolicyBinding labgrader-job-pods',
      'ValidatingAdmissionPolicy labgrader-lab-objects',
      'ValidatingAdmissionPolicyBinding labgrader-lab-objects',
      'ValidatingAdmissionPolicy labgrader-grader-scope',
      'ValidatingAdmissionPolicyBinding labgrader-grader-scope',
    ]);
    const author = bundle.find((o) => (o.metadata as { name: string }).name === 'labgrader-lab-author') as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const writable = author.rules.filter((r) => r.verbs.includes('create')).flatMap((r) => r.resources);
    // Nothing cluster-scoped, no Endpoints, no escalation verbs.
    for (const forbidden of [
      'clusterroles',
      'clusterrolebindings',
      'persistentvolumes',
      'namespaces',
      'nodes',
      'endpoints',
      'endpointslices',
    ]) {
      expect(writable).not.toContain(forbidden);
    }
    expect(author.rules.flatMap((r) => r.verbs)).not.toEqual(expect.arrayContaining(['bind']));
    expect(author.rules.flatMap((r) => r.verbs)).not.toEqual(expect.arrayContaining(['escalate']));
    expect(author.rules.flatMap((r) => r.verbs)).not.toEqual(expect.arrayContaining(['impersonate']));
    const labObjects = bundle.find(
      (o) =>
        (o.metadata as { name: string }).name === 'labgrader-lab-objects' && o.kind === 'ValidatingAdmissionPolicy',
    ) as {
      spec: { matchConditions: { expression: string }[] };
    };
    expect(labObjects.spec.matchConditions[0]!.expression).toBe(`request.userInfo.username == '${APPLIER_USER}'`);
    // kind clusters need no grader identity (the grader is the cluster's admin there).
    expect(gradingClusterBundle({ grader: false }).some((o) => JSON.stringify(o).includes('labgrader-grader'))).toBe(
      false,
    );
  });

  it('the node egress guard rejects pod traffic out of the node and to the node’s ports but the API server', () => {
    expect(podCidrsOf({ items: [{ spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] } }] })).toEqual([
      '10.244.0.0/24',
    ]);
    expect(podCidrsOf({ items: [] })).toEqual(['10.244.0.0/16']);
    const script = nodeGuardScript(['10.244.0.0/24']);
    expect(script).toContain('iptables -w -I FORWARD 1 -s 10.244.0.0/24 -j LABGRADER-POD-EGRESS');
    expect(script).toContain('iptables -w -A LABGRADER-POD-EGRESS -d 10.244.0.0/24 -j RETURN');
    expect(script).toContain('iptables -w -A LABGRADER-POD-TO-NODE -p tcp --dport 6443 -j RETURN');
    expect(() => nodeGuardScript(['10.244.0.0/24; rm -rf /'])).toThrow(/no IPv4 pod CIDR/);
    // Several nodes: pods on a worker reach the API server on the control plane through FORWARD.
    const multi = nodeGuardScript(['10.244.0.0/24', '10.244.1.0/24'], ['172.18.0.2', 'not-an-ip']);
    expect(multi).toContain('iptables -w -A LABGRADER-POD-EGRESS -d 10.244.1.0/24 -j RETURN');
    expect(multi).toContain('iptables -w -A LABGRADER-POD-EGRESS -d 172.18.0.2/32 -p tcp --dport 6443 -j RETURN');
    expect(multi).not.toContain('not-an-ip');
    // ...and answer the Service prober on another node (replies only, never a new connection).
    expect(multi).toContain('iptables -w -A LABGRADER-POD-EGRESS -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN');
    expect(multi.indexOf('ESTABLISHED,RELATED -j RETURN')).toBeLessThan(
      multi.indexOf('LABGRADER-POD-EGRESS -p tcp -j REJECT'),
    );
  });
});
