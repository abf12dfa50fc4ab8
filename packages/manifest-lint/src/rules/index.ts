/**
 * Every lint rule, one module each. A test checks that this list and the
 * files in this folder agree, and that each rule's id is `lint/<file name>`.
 */
import type { LintRule } from './support/rule.js';
import { configMapSecrets } from './configmap-secrets.js';
import { containerResources } from './container-resources.js';
import { databaseExposed } from './database-exposed.js';
import { duplicateObject } from './duplicate-object.js';
import { envSecretLiteral } from './env-secret-literal.js';
import { hostAccess } from './host-access.js';
import { hpaReplicas } from './hpa-replicas.js';
import { hpaTarget } from './hpa-target.js';
import { imagePullPolicy } from './image-pull-policy.js';
import { imageTag } from './image-tag.js';
import { ingressBackend } from './ingress-backend.js';
import { networkPolicyDns } from './networkpolicy-dns.js';
import { networkPolicyPresent } from './networkpolicy-present.js';
import { networkPolicySelector } from './networkpolicy-selector.js';
import { observabilityMetrics } from './observability-metrics.js';
import { pdbDrain } from './pdb-drain.js';
import { pdbPresent } from './pdb-present.js';
import { podSpread } from './pod-spread.js';
import { probePort } from './probe-port.js';
import { probesDistinct } from './probes-distinct.js';
import { probesPresent } from './probes-present.js';
import { rbacClusterScope } from './rbac-cluster-scope.js';
import { rbacPrivileged } from './rbac-privileged.js';
import { render } from './render.js';
import { replicas } from './replicas.js';
import { requestsFitNode } from './requests-fit-node.js';
import { requestsWithinLimits } from './requests-within-limits.js';
import { rollingUpdate } from './rolling-update.js';
import { schemaValid } from './schema-valid.js';
import { secretCommitted } from './secret-committed.js';
import { securityContext } from './security-context.js';
import { serviceSelector } from './service-selector.js';
import { serviceTargetPort } from './service-target-port.js';
import { statefulSetService } from './statefulset-service.js';
import { workloadSelector } from './workload-selector.js';
import { yamlValid } from './yaml-valid.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const LINT_RULES: readonly LintRule<any>[] = [
  // Parse problems first: they explain why later rules saw fewer objects.
  yamlValid,
  render,
  schemaValid,
  configMapSecrets,
  containerResources,
  databaseExposed,
  duplicateObject,
  envSecretLiteral,
  hostAccess,
  hpaReplicas,
  hpaTarget,
  imagePullPolicy,
  imageTag,
  ingressBackend,
  networkPolicyDns,
  networkPolicyPresent,
  networkPolicySelector,
  observabilityMetrics,
  pdbDrain,
  pdbPresent,
  podSpread,
  probePort,
  probesDistinct,
  probesPresent,
  rbacClusterScope,
  rbacPrivileged,
  replicas,
  requestsFitNode,
  requestsWithinLimits,
  rollingUpdate,
  secretCommitted,
  securityContext,
  serviceSelector,
  serviceTargetPort,
  statefulSetService,
  workloadSelector,
];
