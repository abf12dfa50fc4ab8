import { z } from 'zod';
import { defineRule, hint } from './support/rule.js';

export const yamlValid = defineRule({
  id: 'lint/yaml-valid',
  title: 'Manifest files are readable YAML',
  rationale:
    'kubectl refuses a whole file when one document is malformed, has duplicate keys, is not UTF-8 text or is too large; the objects in it are never applied.',
  severity: 'error',
  fixHint: hint(
    'Fix the syntax at the reported line: indent with spaces, keep each key once per mapping, quote values that contain `: ` or start with special characters, and separate documents with `---`.',
    `
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  GREETING: "hello: world"   # quoted because it contains ': '
---
apiVersion: v1
kind: Service`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/overview/working-with-objects/#describing-a-kubernetes-object',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const file of context.examinedFiles) reporter.examine(`file ${file}`);
    for (const problem of context.problems) {
      if (problem.checkId !== 'lint/yaml-valid') continue;
      reporter.examine(problem.subject);
      reporter.report(problem);
    }
  },
});
