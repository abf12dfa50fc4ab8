import { z } from 'zod';
import { asString } from '../model/object.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { floats, parseImage } from './support/image-ref.js';
import { defineRule, hint } from './support/rule.js';

export const imagePullPolicy = defineRule({
  id: 'lint/image-pull-policy',
  title: 'imagePullPolicy fits the image reference',
  rationale:
    '`IfNotPresent` with a floating tag keeps whatever version each node pulled first, so replicas silently differ; `Never` fails on any node that lacks the image; `Always` with a pinned tag makes every restart depend on the registry being up.',
  severity: 'warning',
  fixHint: hint(
    'Pin the image and let the policy default (IfNotPresent for pinned tags).',
    `
containers:
  - name: web
    image: ghcr.io/acme/web:1.4.2
    imagePullPolicy: IfNotPresent`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy',
  options: z
    .object({
      /** `Never` is acceptable (images side-loaded into a local cluster, e.g. `kind load`). */
      allowNever: z.boolean().default(false),
      /** Report `Always` on pinned images (as info). */
      reportAlwaysOnPinned: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of allContainers(workload)) {
        const image = asString(container.value.image);
        const policy = asString(container.value.imagePullPolicy);
        if (image === undefined) continue;
        reporter.examine(container.subject);
        if (policy === undefined) continue;
        const ref = parseImage(image);
        const location = containerLocation(container, ['imagePullPolicy']);
        const who = `container "${container.name}" (${workload.subject})`;
        if (policy === 'IfNotPresent' && floats(ref)) {
          reporter.report({
            subject: container.subject,
            location,
            message: `imagePullPolicy IfNotPresent with the floating image "${image}" of ${who}: each node keeps the version it pulled first, so replicas can run different code`,
          });
        } else if (policy === 'Never' && !options.allowNever) {
          reporter.report({
            subject: container.subject,
            location,
            message: `imagePullPolicy Never on ${who}: the pod fails with ErrImageNeverPull on any node where the image was not preloaded`,
          });
        } else if (policy === 'Always' && !floats(ref) && options.reportAlwaysOnPinned) {
          reporter.report({
            subject: container.subject,
            location,
            severity: 'info',
            message: `imagePullPolicy Always on the pinned image "${image}" of ${who}: every restart contacts the registry, so a registry outage blocks restarts and scale-ups`,
          });
        }
      }
    }
  },
});
