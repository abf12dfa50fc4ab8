#!/usr/bin/env node
/**
 * Generates the benchmark corpus: realistic applications (Deployment or
 * StatefulSet, Service, ConfigMap, PDB, HPA, NetworkPolicies, RBAC, some
 * Ingresses and CronJobs) spread over files the way lab repositories lay
 * them out, until exactly N documents exist. A deterministic subset carries
 * the course problems; `truth.json` lists where each one was planted so the
 * bench can tell which tool found it.
 *
 *   node bench/lint/generate-corpus.mjs [--docs 10000] [--out bench/results/corpus]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const target = Number(arg('docs', '10000'));
const out = path.resolve(arg('out', 'bench/results/corpus'));

/** The course problems the bench looks for, planted in a deterministic subset of apps. */
const PROBLEMS = {
  'port-triangle': (i) => i % 17 === 3,
  'dns-egress': (i) => i % 19 === 5,
  'drain-blocking-pdb': (i) => i % 23 === 7,
  'plaintext-secret-env': (i) => i % 13 === 9,
  'plaintext-secret-committed': (i) => i % 29 === 11,
};

const truth = [];
let docs = 0;
rmSync(out, { recursive: true, force: true });

function write(file, documents) {
  mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
  writeFileSync(path.join(out, file), documents.map((d) => d.replace(/^\n/, '')).join('---\n'));
  docs += documents.length;
}

function app(i) {
  const name = `svc-${i}`;
  const ns = `team-${i % 40}`;
  const dir = `apps/${ns}/${name}`;
  const has = (p) => PROBLEMS[p](i);
  const stateful = i % 10 === 4;
  const replicas = 2 + (i % 3);
  const sloppy = i % 5 === 1; // typical gaps of real repositories: no securityContext, no limits
  const kind = stateful ? 'StatefulSet' : 'Deployment';
  const env = has('plaintext-secret-env')
    ? `            - name: DB_PASSWORD
              value: "pw-${i}-${(i * 7919) % 100000}"`
    : `            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: ${name}-db, key: password }`;
  const resources = sloppy
    ? `          resources:
            requests: { cpu: 100m, memory: 128Mi }`
    : `          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: 500m, memory: 256Mi }`;
  const security = sloppy
    ? ''
    : `          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: ["ALL"] }
`;
  write(`${dir}/${stateful ? 'statefulset' : 'deployment'}.yaml`, [
    `
apiVersion: apps/v1
kind: ${kind}
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: shop
spec:
${stateful ? `  serviceName: ${name}\n` : ''}  replicas: ${replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${name}
        app.kubernetes.io/part-of: shop
      annotations:
        prometheus.io/scrape: "${i % 3 === 0}"
    spec:
      serviceAccountName: ${name}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: app
          image: registry.example.com/shop/${name}:1.${i % 20}.${i % 7}
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 8080
            - name: metrics
              containerPort: 9090
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_HOST
              value: postgres.${ns}.svc
${env}
          envFrom:
            - configMapRef: { name: ${name}-config }
${resources}
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            failureThreshold: 3
${security}          volumeMounts:
            - { name: tmp, mountPath: /tmp }
      volumes:
        - name: tmp
          emptyDir: {}
`,
  ]);
  if (has('plaintext-secret-env'))
    truth.push({ problem: 'plaintext-secrets', file: `${dir}/${stateful ? 'statefulset' : 'deployment'}.yaml` });

  const service = [
    `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app.kubernetes.io/name: ${name}
spec:
  selector:
    app.kubernetes.io/name: ${name}
  ports:
    - name: http
      port: 80
      targetPort: ${has('port-triangle') ? 8081 : 'http'}
`,
  ];
  if (i % 5 === 0) {
    service.push(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  ingressClassName: nginx
  rules:
    - host: ${name}.shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${name}
                port: { name: http }
`);
  }
  write(`${dir}/service.yaml`, service);
  if (has('port-triangle')) truth.push({ problem: 'port-triangle', file: `${dir}/service.yaml` });

  write(`${dir}/config.yaml`, [
    `
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
  namespace: ${ns}
data:
  FEATURE_FLAGS: "checkout,search"
  CACHE_TTL_SECONDS: "300"
  application.yaml: |
    server:
      port: 8080
    upstream:
      url: http://svc-${(i + 1) % 100}.${ns}.svc
`,
  ]);
  if (has('plaintext-secret-committed')) {
    write(`${dir}/secret.yaml`, [
      `
apiVersion: v1
kind: Secret
metadata:
  name: ${name}-db
  namespace: ${ns}
type: Opaque
data:
  password: ${Buffer.from(`pw-${i}-secret`).toString('base64')}
`,
    ]);
    truth.push({ problem: 'plaintext-secrets', file: `${dir}/secret.yaml` });
  }

  const drainBlocking = has('drain-blocking-pdb');
  write(`${dir}/availability.yaml`, [
    `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  ${drainBlocking ? (i % 2 ? 'maxUnavailable: 0' : 'minAvailable: 100%') : 'maxUnavailable: 1'}
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
`,
    ...(stateful
      ? []
      : [
          `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  minReplicas: ${replicas}
  maxReplicas: ${replicas * 3}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: 70 }
`,
        ]),
  ]);
  if (drainBlocking) truth.push({ problem: 'drain-blocking-pdb', file: `${dir}/availability.yaml` });

  const dnsRule = `    - to:
        - namespaceSelector:
            matchLabels: { kubernetes.io/metadata.name: kube-system }
          podSelector:
            matchLabels: { k8s-app: kube-dns }
      ports:
        - { protocol: UDP, port: 53 }
        - { protocol: TCP, port: 53 }
`;
  write(`${dir}/network.yaml`, [
    `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}-default-deny
  namespace: ${ns}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  policyTypes: [Ingress, Egress]
  egress:
${has('dns-egress') ? '' : dnsRule}    - to:
        - podSelector:
            matchLabels: { app.kubernetes.io/name: svc-${(i + 1) % 100} }
      ports:
        - { protocol: TCP, port: 8080 }
`,
    `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}-allow-http
  namespace: ${ns}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  ingress:
    - ports:
        - { protocol: TCP, port: 8080 }
`,
  ]);
  if (has('dns-egress')) truth.push({ problem: 'dns-egress', file: `${dir}/network.yaml` });

  write(`${dir}/rbac.yaml`, [
    `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
  namespace: ${ns}
automountServiceAccountToken: false
`,
    ...(i % 3 === 0
      ? [
          `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${name}-read-config
  namespace: ${ns}
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "watch"]
`,
          `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${name}-read-config
  namespace: ${ns}
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${name}-read-config }
subjects:
  - { kind: ServiceAccount, name: ${name}, namespace: ${ns} }
`,
        ]
      : []),
  ]);

  if (i % 7 === 2) {
    write(`${dir}/cronjob.yaml`, [
      `
apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}-cleanup
  namespace: ${ns}
spec:
  schedule: "*/30 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      activeDeadlineSeconds: 600
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: registry.example.com/shop/cleanup:2.1.0
              resources:
                requests: { cpu: 50m, memory: 64Mi }
                limits: { cpu: 200m, memory: 128Mi }
`,
    ]);
  }
}

for (let ns = 0; ns < 40; ns++) {
  write(`namespaces/team-${ns}.yaml`, [`\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-${ns}\n`]);
}
let i = 0;
while (docs < target) app(i++);
writeFileSync(
  path.join(out, '..', 'truth.json'),
  `${JSON.stringify({ documents: docs, apps: i, problems: truth }, null, 2)}\n`,
);
console.log(
  `generated ${docs} documents (${i} apps, ${truth.length} planted problems) in ${path.relative(process.cwd(), out)}`,
);
