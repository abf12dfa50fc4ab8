/**
 * NetworkPolicy peers as Kubernetes evaluates them ("Behavior of to and from
 * selectors"): the items of `to`/`from` are ORed; inside one item a
 * namespaceSelector and a podSelector are ANDed; a podSelector alone selects
 * pods of the policy's own namespace, a namespaceSelector alone every pod of
 * the selected namespaces; `to` empty or missing matches every destination;
 * ports are ANDed with the peers. And DNS over UDP only is a note, not a failure.
 */
import { describe, expect, it } from '@jest/globals';
import type { LintResult } from '../src/index.js';
import { lintFiles } from './helpers/lint.js';

const WEB = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: web, namespace: shop }',
  'spec:',
  '  selector: { matchLabels: { app: web } }',
  '  template:',
  '    metadata: { labels: { app: web } }',
  '    spec:',
  '      containers:',
  '        - name: web',
  '          image: ghcr.io/acme/web:1.0.0',
  '',
].join('\n');

/** A policy of namespace shop for every pod; `body` is the rest of its spec (indented by two). */
function policy(name: string, body: string[]): string {
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicy',
    `metadata: { name: ${name}, namespace: shop }`,
    'spec:',
    '  podSelector: {}',
    ...body.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

const KUBE_SYSTEM = ['namespaceSelector:', '  matchLabels: { kubernetes.io/metadata.name: kube-system }'];
const KUBE_DNS = ['podSelector:', '  matchLabels: { k8s-app: kube-dns }'];
const DNS_PORTS = ['ports:', '  - { protocol: UDP, port: 53 }', '  - { protocol: TCP, port: 53 }'];

/** `- to:` with the given peers (each a list of lines, the first one gets the dash) and ports. */
function egressRule(peers: string[][], ports: string[] = DNS_PORTS): string[] {
  return [
    '- to:',
    ...peers.flatMap((peer) => peer.map((line, i) => `    ${i === 0 ? '- ' : '  '}${line}`)),
    ...ports.map((line) => `  ${line}`),
  ];
}

async function lint(policies: string[], checks = ['lint/networkpolicy-dns']) {
  const result = await lintFiles({ 'k8s/app.yaml': [WEB, ...policies].join('---\n') }, { checks });
  return result;
}

const found = (result: LintResult, checkId: string) =>
  result.findings
    .filter((f) => f.checkId === checkId)
    .map((f) => `${f.severity} ${f.location?.file}:${f.location?.line} ${f.message}`);

const outcome = (result: LintResult, checkId: string) => {
  const run = result.runs.find((r) => r.id === checkId)!;
  return { examined: run.outcome!.examined, passed: run.outcome!.passed };
};

/** The line number (1-based) of the first line of k8s/app.yaml containing `text` after `after`. */
function lineOf(policies: string[], text: string, after = ''): number {
  const lines = [WEB, ...policies].join('---\n').split('\n');
  const start = after ? lines.findIndex((l) => l.includes(after)) : 0;
  return lines.findIndex((l, i) => i >= start && l.includes(text)) + 1;
}

describe('lint/networkpolicy-dns: DNS over UDP and TCP', () => {
  const deny = (egress: string[]) => policy('default-deny', ['policyTypes: [Ingress, Egress]', 'egress:', ...egress]);

  it('UDP 53 only is a note that costs nothing, and says what actually breaks', async () => {
    const policies = [deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { protocol: UDP, port: 53 }']))];
    const result = await lint(policies);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([
      `info k8s/app.yaml:${lineOf(policies, 'Egress]')} NetworkPolicy shop/default-deny restricts the egress of Deployment shop/web and allows DNS over UDP port 53 but not over TCP port 53: ordinary lookups work, but an answer too large for UDP, which the resolver retries over TCP, fails; allow TCP port 53 too`,
    ]);
    expect(outcome(result, 'lint/networkpolicy-dns')).toEqual({ examined: 1, passed: 1 });
  });

  it('TCP 53 only fails: resolvers ask over UDP first', async () => {
    const policies = [deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { protocol: TCP, port: 53 }']))];
    const result = await lint(policies);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([
      `error k8s/app.yaml:${lineOf(policies, 'Egress]')} NetworkPolicy shop/default-deny restricts the egress of Deployment shop/web but allows DNS over TCP port 53 only, not over UDP port 53, which resolvers use first: name lookups will time out`,
    ]);
    expect(outcome(result, 'lint/networkpolicy-dns')).toEqual({ examined: 1, passed: 0 });
  });

  it('no DNS at all fails', async () => {
    const policies = [deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { port: 443 }']))];
    const result = await lint(policies);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([
      `error k8s/app.yaml:${lineOf(policies, 'Egress]')} NetworkPolicy shop/default-deny restricts the egress of Deployment shop/web but allows no DNS (neither UDP nor TCP port 53 to the cluster DNS in kube-system): name lookups will fail`,
    ]);
  });

  it('UDP from one policy and TCP from another add up', async () => {
    const result = await lint([
      deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { protocol: UDP, port: 53 }'])),
      policy('dns-tcp', [
        'policyTypes: [Egress]',
        'egress:',
        ...egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { protocol: TCP, port: 53 }']),
      ]),
    ]);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([]);
  });
});

describe('lint/networkpolicy-dns: peers as Kubernetes evaluates them', () => {
  const deny = (egress: string[]) => policy('default-deny', ['policyTypes: [Ingress, Egress]', 'egress:', ...egress]);
  const errors = (result: LintResult) =>
    result.findings.filter((f) => f.checkId === 'lint/networkpolicy-dns' && f.severity === 'error');

  it('ANDs the namespaceSelector and podSelector of one item: kube-system pods that are not the DNS are no DNS', async () => {
    const policies = [
      deny(egressRule([[...KUBE_SYSTEM, 'podSelector:', '  matchLabels: { k8s-app: metrics-server }']])),
    ];
    const result = await lint(policies);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([
      `error k8s/app.yaml:${lineOf(policies, 'Egress]')} NetworkPolicy shop/default-deny restricts the egress of Deployment shop/web but allows no DNS (neither UDP nor TCP port 53 to the cluster DNS in kube-system): name lookups will fail`,
    ]);
  });

  it('kube-system AND k8s-app=kube-dns in one item is the DNS; so is every namespace AND k8s-app=kube-dns', async () => {
    expect(errors(await lint([deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]]))]))).toEqual([]);
    expect(errors(await lint([deny(egressRule([['namespaceSelector: {}', ...KUBE_DNS]]))]))).toEqual([]);
  });

  it('a podSelector alone selects pods of the own namespace, not kube-dns in kube-system: says so at that peer', async () => {
    const policies = [deny(egressRule([KUBE_DNS]))];
    const result = await lint(policies);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([
      `error k8s/app.yaml:${lineOf(policies, 'podSelector:', '- to:')} NetworkPolicy shop/default-deny restricts the egress of Deployment shop/web but allows no DNS (neither UDP nor TCP port 53 to the cluster DNS in kube-system): name lookups will fail. Its egress rule for DNS allows traffic to pods labelled k8s-app=kube-dns of namespace shop only (a podSelector without a namespaceSelector selects pods of the policy's own namespace); put a namespaceSelector for kube-system in the same item, without a dash of its own`,
    ]);
  });

  it('ORed items: a kube-system item next to a podSelector item allows DNS (every pod of kube-system)', async () => {
    expect(errors(await lint([deny(egressRule([KUBE_SYSTEM, KUBE_DNS]))]))).toEqual([]);
  });

  it('ORed items: any one item that is the DNS is enough, whatever the others select', async () => {
    const other = ['podSelector:', '  matchLabels: { app: db }'];
    expect(errors(await lint([deny(egressRule([other, [...KUBE_SYSTEM, ...KUBE_DNS]]))]))).toEqual([]);
    expect(errors(await lint([deny(egressRule([other, ['ipBlock: { cidr: 10.0.0.0/8 }']]))]))).toEqual([]);
  });

  it('reads matchExpressions of a namespaceSelector: NotIn kube-system is no DNS, In kube-system is', async () => {
    const notIn = [
      'namespaceSelector:',
      '  matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system] }]',
    ];
    const inKs = [
      'namespaceSelector:',
      '  matchExpressions: [{ key: kubernetes.io/metadata.name, operator: In, values: [kube-system, monitoring] }]',
    ];
    expect(errors(await lint([deny(egressRule([notIn]))]))).toHaveLength(1);
    expect(errors(await lint([deny(egressRule([inKs]))]))).toEqual([]);
  });

  it('gives a namespace label it cannot know the benefit of the doubt', async () => {
    const team = ['namespaceSelector:', '  matchLabels: { team: platform }'];
    expect(errors(await lint([deny(egressRule([[...team, ...KUBE_DNS]]))]))).toEqual([]);
  });

  it('ports are ANDed with the peers: port 53 to the database only is no DNS', async () => {
    const db = ['podSelector:', '  matchLabels: { app: db }'];
    const result = await lint([
      deny([...egressRule([db]), ...egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], ['ports:', '  - { port: 443 }'])]),
    ]);
    expect(errors(result)).toHaveLength(1);
  });

  it('`to: []` and a missing `to` match every destination', async () => {
    expect(errors(await lint([deny(['- to: []', ...DNS_PORTS.map((l) => `  ${l}`)])]))).toEqual([]);
    expect(
      errors(
        await lint([deny(['- ports:', '    - { protocol: UDP, port: 53 }', '    - { protocol: TCP, port: 53 }'])]),
      ),
    ).toEqual([]);
  });

  it('`egress: []` without policyTypes restricts no egress (Kubernetes defaults policyTypes to [Ingress])', async () => {
    const result = await lint([policy('deny-ingress', ['egress: []', 'ingress: []'])]);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([]);
    // With Egress in policyTypes, the same empty list denies all egress.
    const denied = await lint([policy('deny-all', ['policyTypes: [Ingress, Egress]', 'egress: []'])]);
    expect(errors(denied)).toHaveLength(1);
    // policyTypes: [] is defaulted like a missing one: egress rules make it an Egress policy.
    const defaulted = await lint([policy('egress-443', ['policyTypes: []', 'egress:', '  - ports: [{ port: 443 }]'])]);
    expect(errors(defaulted)).toHaveLength(1);
  });

  it("named ports: CoreDNS's dns (UDP) and dns-tcp (TCP)", async () => {
    const named = ['ports:', '  - { protocol: UDP, port: dns }', '  - { protocol: TCP, port: dns-tcp }'];
    expect(
      found(await lint([deny(egressRule([[...KUBE_SYSTEM, ...KUBE_DNS]], named))]), 'lint/networkpolicy-dns'),
    ).toEqual([]);
  });
});

describe('lint/networkpolicy-selector: peer lists whose ORed items open more than they seem to', () => {
  const deny = (egress: string[]) => policy('default-deny', ['policyTypes: [Ingress, Egress]', 'egress:', ...egress]);
  const selector = (result: LintResult) => found(result, 'lint/networkpolicy-selector');

  it('a lone `namespaceSelector: {}` item next to the DNS item allows every pod of every namespace: a warning at it', async () => {
    const policies = [deny(egressRule([KUBE_DNS, ['namespaceSelector: {}']]))];
    const result = await lint(policies, ['lint/networkpolicy-selector', 'lint/networkpolicy-dns']);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([]);
    expect(selector(result)).toEqual([
      `warning k8s/app.yaml:${lineOf(policies, 'namespaceSelector: {}')} NetworkPolicy shop/default-deny allows traffic to every pod of every namespace: this \`namespaceSelector: {}\` is an item of its own in \`to\`, and the items of \`to\` are ORed, so it also makes the item with the podSelector k8s-app=kube-dns redundant. To select only those pods, in any namespace, put both selectors in one item (no dash before the second)`,
    ]);
  });

  it('the same for ingress `from`', async () => {
    const policies = [
      policy('web-from-frontend', [
        'ingress:',
        '  - from:',
        '      - namespaceSelector: {}',
        '      - podSelector:',
        '          matchLabels: { app: frontend }',
      ]),
    ];
    const result = await lint(policies, ['lint/networkpolicy-selector']);
    expect(selector(result)).toContainEqual(
      `warning k8s/app.yaml:${lineOf(policies, 'namespaceSelector: {}')} NetworkPolicy shop/web-from-frontend allows traffic from every pod of every namespace: this \`namespaceSelector: {}\` is an item of its own in \`from\`, and the items of \`from\` are ORed, so it also makes the item with the podSelector app=frontend redundant. To select only those pods, in any namespace, put both selectors in one item (no dash before the second)`,
    );
  });

  it('a namespace item next to a podSelector item that selects nothing in the own namespace: a note on the OR', async () => {
    const policies = [deny(egressRule([KUBE_SYSTEM, KUBE_DNS]))];
    const result = await lint(policies, ['lint/networkpolicy-selector', 'lint/networkpolicy-dns']);
    expect(found(result, 'lint/networkpolicy-dns')).toEqual([]);
    expect(selector(result)).toEqual([
      `info k8s/app.yaml:${lineOf(policies, 'podSelector:', '- to:')} NetworkPolicy shop/default-deny allows traffic to pods labelled k8s-app=kube-dns of its own namespace, which the repository does not define, OR to every pod of the namespaces of the namespaceSelector kubernetes.io/metadata.name=kube-system: the two are separate items of \`to\`, and items are ORed. If you meant only the pods labelled k8s-app=kube-dns of those namespaces, put both selectors in one item (no dash before podSelector)`,
    ]);
    expect(outcome(result, 'lint/networkpolicy-selector')).toEqual({ examined: 1, passed: 1 });
  });

  it('an intended OR is left alone: the namespace item next to pods of the own namespace that exist', async () => {
    const policies = [
      policy('web-ingress', [
        'ingress:',
        '  - from:',
        '      - namespaceSelector:',
        '          matchLabels: { kubernetes.io/metadata.name: monitoring }',
        '      - podSelector:',
        '          matchLabels: { app: web }',
        '      - ipBlock: { cidr: 10.0.0.0/8 }',
      ]),
    ];
    expect(selector(await lint(policies, ['lint/networkpolicy-selector']))).toEqual([]);
  });

  it('`namespaceSelector: {}` next to an ipBlock is no mistake (pods of the cluster OR addresses outside it)', async () => {
    const policies = [deny(egressRule([['namespaceSelector: {}'], ['ipBlock: { cidr: 203.0.113.0/24 }']]))];
    expect(selector(await lint(policies, ['lint/networkpolicy-selector']))).toEqual([]);
  });
});
