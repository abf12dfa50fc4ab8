import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { groupOf } from '../schema/kubernetes.js';
import { closestMatch, editDistance } from '../util/text.js';
import { defineRule, hint } from './support/rule.js';

export const schemaValid = defineRule({
  id: 'lint/schema-valid',
  title: 'Objects match the Kubernetes API schema',
  rationale:
    'A misspelt field (`readinessprobe`, `limit`) is rejected by strict validation or, worse, silently dropped: the probe or the limit you wrote never exists in the cluster. Wrong types, missing required fields and API versions the cluster no longer serves fail at deploy time.',
  severity: 'error',
  fixHint: hint(
    'Use the exact field names and types of the API version (case matters); `kubectl explain deployment.spec.template.spec.containers` lists them. Quote strings that look like numbers or booleans.',
    `
containers:
  - name: web
    readinessProbe:        # not readinessprobe
      httpGet: { path: /readyz, port: http }
    resources:
      limits:              # not limit
        memory: 128Mi      # not 128MB
    env:
      - name: FEATURE_FLAG
        value: "true"      # env values are strings`,
  ),
  docsUrl: 'https://kubernetes.io/docs/reference/kubernetes-api/',
  options: z
    .object({
      /** How to report kinds the schema does not know (custom resources): as info findings or not at all. */
      customResources: z.enum(['info', 'ignore']).default('info'),
      /** At most this many problems per object. */
      maxPerObject: z.number().int().positive().default(20),
    })
    .strict(),
  run(context, options, reporter) {
    const { schema } = context;
    const builtinGroups = new Set([...schema.groups, 'extensions']);
    const definedCrds = new Set(
      context.index.ofKind('CustomResourceDefinition').map((crd) => {
        const spec = asRecord(crd.get(['spec']));
        return `${String(spec.group)}/${String(asRecord(spec.names).kind)}`;
      }),
    );
    for (const object of context.objects) {
      const subject = object.ref;
      reporter.examine(subject);
      const value = object.value;
      if (typeof value.apiVersion !== 'string' || value.apiVersion === '') {
        reporter.report({
          subject,
          message: `${subject} has no apiVersion; add one (for example apps/v1 for a Deployment)`,
          location: object.locate(['kind'], 'key'),
        });
        continue;
      }
      const info = schema.kind(object.apiVersion, object.kind);
      if (!info) {
        const group = groupOf(object.apiVersion);
        const serving = schema.servingVersions(object.kind);
        const typoGroup =
          !builtinGroups.has(group) && [...builtinGroups].some((g) => g !== '' && editDistance(g, group, 2) <= 2);
        if (builtinGroups.has(group) || typoGroup || (group === '' && !object.apiVersion.includes('/'))) {
          if (serving.length > 0) {
            reporter.report({
              subject,
              message: `Kubernetes ${schema.version} does not serve ${object.kind} at apiVersion ${object.apiVersion}; use ${serving.join(' or ')}`,
              location: object.locate(['apiVersion']),
            });
          } else {
            const suggestion = closestMatch(object.kind, schema.allKinds());
            reporter.report({
              subject,
              message: `Kubernetes ${schema.version} has no kind "${object.kind}" in ${object.apiVersion}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
              location: object.locate(['kind']),
            });
          }
        } else if (options.customResources === 'info') {
          const defined = definedCrds.has(`${group}/${object.kind}`);
          reporter.report({
            subject,
            severity: 'info',
            message: `${subject} is a custom resource (${object.apiVersion})${defined ? ' defined by a CRD in this repository' : ''}; its fields were not validated`,
            location: object.locate(['apiVersion']),
          });
        }
        continue;
      }
      const metadata = asRecord(value.metadata);
      if (typeof metadata.name !== 'string' && typeof metadata.generateName !== 'string') {
        reporter.report({
          subject,
          message: `${object.kind} has no metadata.name; every object needs a name`,
          location: object.locate(value.metadata === undefined ? ['kind'] : ['metadata'], 'key'),
        });
      }
      if (info.ns === false && typeof metadata.namespace === 'string') {
        reporter.report({
          subject,
          severity: 'warning',
          message: `${object.kind} is cluster-scoped; metadata.namespace "${metadata.namespace}" is ignored`,
          location: object.locate(['metadata', 'namespace'], 'key'),
        });
      }
      for (const issue of schema.validate(value, info.t, options.maxPerObject)) {
        const where = issue.path.length > 0 ? issue.path.join('.') : object.kind;
        reporter.report({
          subject,
          message: `${where}: ${issue.message}`,
          location: object.locate(issue.path, issue.mode),
        });
      }
    }
  },
});
