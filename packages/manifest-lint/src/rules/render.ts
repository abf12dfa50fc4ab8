import { z } from 'zod';
import { defineRule, hint } from './support/rule.js';

export const render = defineRule({
  id: 'lint/render',
  title: 'Kustomizations and Helm charts render',
  rationale:
    "A kustomization that does not build, or a chart that cannot be templated, deploys nothing; remote bases, plugins and downloaded charts make the result depend on someone else's repository at deploy time. labgrader renders only what is committed: it refuses remote or out-of-repository paths, kustomize plugins (transformers, generators, validators), kustomize's Helm fields, unknown kustomization fields and chart dependencies that are not vendored.",
  severity: 'error',
  fixHint: hint(
    'Run `kubectl kustomize <dir>` (or `helm template <chart>`) locally and fix the first error it prints; list only files and directories committed in the repository, by relative path. Vendor remote bases and charts (`helm dependency build`, then commit `charts/`); replace plugins with patches, replacements or configMapGenerator.',
    `
# k8s/overlays/prod/kustomization.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - path: replicas.yaml`,
  ),
  docsUrl: 'https://kubernetes.io/docs/tasks/manage-kubernetes-objects/kustomization/',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const target of context.renderTargets) reporter.examine(target);
    for (const problem of context.problems) {
      if (problem.checkId !== 'lint/render') continue;
      reporter.examine(problem.subject);
      // A renderer that is not installed: the hint is how to install it, not how to fix the kustomization.
      const { installHint, ...finding } = problem;
      reporter.report(installHint ? { ...finding, fixHint: installHint } : finding);
    }
  },
});
