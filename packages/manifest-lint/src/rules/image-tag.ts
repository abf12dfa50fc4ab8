import { z } from 'zod';
import { asString } from '../model/object.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { parseImage } from './support/image-ref.js';
import { defineRule, hint } from './support/rule.js';

export const imageTag = defineRule({
  id: 'lint/image-tag',
  title: 'Images are pinned to a version',
  rationale:
    'An image without a tag, or tagged `latest`, means "whatever was pushed last": two replicas can run different code, a rollback redeploys the broken version, and nobody can tell what is running.',
  severity: 'error',
  fixHint: hint(
    'Pin every image to an immutable version tag, or better a digest.',
    `
containers:
  - name: web
    image: ghcr.io/acme/web:1.4.2
    # or: ghcr.io/acme/web@sha256:3b7a...`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/containers/images/#image-names',
  options: z
    .object({
      allowLatest: z.boolean().default(false),
      /** Also require a digest (`@sha256:`) on every image. */
      requireDigest: z.boolean().default(false),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of allContainers(workload)) {
        const image = asString(container.value.image);
        if (image === undefined) continue;
        reporter.examine(container.subject);
        const ref = parseImage(image);
        const location = containerLocation(container, ['image']);
        if (ref.digest) continue;
        if (ref.tag === undefined && !options.allowLatest) {
          reporter.report({
            subject: container.subject,
            message: `Image "${image}" of container "${container.name}" (${workload.subject}) has no tag, so it runs whatever "latest" is; pin a version`,
            location,
          });
        } else if (ref.tag === 'latest' && !options.allowLatest) {
          reporter.report({
            subject: container.subject,
            message: `Image "${image}" of container "${container.name}" (${workload.subject}) uses the mutable "latest" tag; pin a version`,
            location,
          });
        } else if (options.requireDigest) {
          reporter.report({
            subject: container.subject,
            message: `Image "${image}" of container "${container.name}" (${workload.subject}) is not pinned by digest`,
            location,
          });
        }
      }
    }
  },
});
