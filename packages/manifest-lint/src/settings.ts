/**
 * Lint stage settings: the rubric's `stages.lint.settings`. Every field has a
 * default, so `{}` is a valid configuration.
 */
import { z } from 'zod';
import { DEFAULT_KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS } from './schema/kubernetes.js';
import { parseQuantity } from './model/quantity.js';

const quantity = z
  .union([z.string(), z.number()])
  .refine((v) => parseQuantity(v) !== undefined && parseQuantity(v)! > 0, {
    message: 'must be a positive Kubernetes quantity such as 2, 1500m or 4Gi',
  })
  .transform((v) => String(v));

const kubernetesVersion = z
  .union([z.string(), z.number()])
  .transform((v) => {
    // Accept 1.33, "v1.33", "1.33.5"; a YAML 1.33 number becomes "1.33".
    const text = String(v).replace(/^v/, '');
    const [major, minor] = text.split('.');
    return `${major}.${minor}`;
  })
  .refine((v) => (SUPPORTED_KUBERNETES_VERSIONS as readonly string[]).includes(v), {
    message: `supported Kubernetes versions: ${SUPPORTED_KUBERNETES_VERSIONS.join(', ')}`,
  });

/** API groups of tool configuration files that look like Kubernetes objects but are not applied to a cluster. */
export const TOOL_CONFIG_GROUPS = [
  'kustomize.config.k8s.io',
  'kind.x-k8s.io',
  'k3d.io',
  'skaffold',
  'kubeadm.k8s.io',
  'kubelet.config.k8s.io',
  'kubeproxy.config.k8s.io',
  'apiserver.config.k8s.io',
  'audit.k8s.io',
  'config.kubernetes.io',
  'ctlptl.dev',
  'tilt.dev',
  'devspace.sh',
];

export const DEFAULT_EXCLUDE = [
  '**/node_modules/**',
  '**/vendor/**',
  '.git/**',
  '.github/**',
  '.gitlab-ci.yml',
  '**/.gitlab-ci.yml',
  'examples/**',
  '**/testdata/**',
  '**/docker-compose*.y?(a)ml',
  '**/compose.y?(a)ml',
  '**/.pre-commit-config.yaml',
  '**/mkdocs.y?(a)ml',
  '**/package.json',
  '**/package-lock.json',
  '**/tsconfig*.json',
  '**/.vscode/**',
];

export const lintSettingsSchema = z
  .object({
    /** Kubernetes API version manifests are validated against. */
    kubernetesVersion: kubernetesVersion.default(DEFAULT_KUBERNETES_VERSION),
    /** Allocatable size of one cluster node: a pod requesting more stays Pending. */
    nodeSize: z
      .object({ cpu: quantity.default('2'), memory: quantity.default('4Gi') })
      .strict()
      .prefault({}),
    /** Files considered (glob patterns, repository-relative). */
    include: z.array(z.string()).default(['**/*.yaml', '**/*.yml', '**/*.json']),
    /** Files and directories never considered. */
    exclude: z.array(z.string()).default(DEFAULT_EXCLUDE),
    /** Extra patterns appended to `exclude` (keeps the defaults). */
    extraExclude: z.array(z.string()).default([]),
    /** Larger manifest files are reported and skipped (at most 16 MiB: parsing time and memory grow with it). */
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .max(16 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** At most this many files are read. */
    maxFiles: z.number().int().positive().default(2_000),
    /** YAML safety limits. */
    maxAliasCount: z.number().int().min(0).default(100),
    maxNestingDepth: z.number().int().min(8).default(100),
    maxDocumentsPerFile: z.number().int().positive().default(5_000),
    /** Rendering of kustomizations and Helm charts. */
    render: z
      .object({
        kustomize: z.boolean().default(true),
        helm: z.boolean().default(true),
        /** Kustomization directories to render; empty means every top-level kustomization. */
        kustomizations: z.array(z.string()).default([]),
        /** Release name passed to `helm template`. */
        helmReleaseName: z.string().default('release'),
        timeoutSeconds: z.number().positive().default(60),
      })
      .strict()
      .prefault({}),
    /** API groups of tool configuration files to ignore (kind cluster configs, skaffold...). */
    ignoreApiGroups: z.array(z.string()).default(TOOL_CONFIG_GROUPS),
  })
  .strict();

export type LintSettings = z.infer<typeof lintSettingsSchema>;

export function defaultLintSettings(): LintSettings {
  return lintSettingsSchema.parse({});
}
