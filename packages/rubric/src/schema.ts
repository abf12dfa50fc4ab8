/**
 * The rubric file format (`apiVersion: labgrader.dev/v1`, `kind: Rubric`).
 * Objects are strict: an unknown key is an error (with a "did you mean"), so a
 * typo like `pionts:` can never silently drop a criterion's points.
 *
 * Stage settings and check options are opaque here: the loader validates them
 * with the owning stage's and check's own schemas.
 */
import { z } from 'zod';
import { severitySchema } from '@labgrader/core';

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const scoringSchema = z.union([
  z.literal('ratio').describe('points × weighted share of examined subjects that pass (default)'),
  z.literal('all-or-nothing').describe('full points only when every check passes everything it examined'),
  z.strictObject({
    mode: z.literal('deduct'),
    /** Points lost per error or warning finding. */
    perFinding: z.number().positive(),
  }),
]);
export type Scoring = z.infer<typeof scoringSchema>;

export const checkRefSchema = z.union([
  z.string().describe('check id, e.g. lint/container-resources'),
  z.strictObject({
    id: z.string(),
    /** Relative weight inside the criterion (default 1). */
    weight: z.number().positive().optional(),
    /** Override the check's default severity. */
    severity: severitySchema.optional(),
    /** Options passed to the check; validated by the check's own schema. */
    options: z.record(z.string(), z.unknown()).optional(),
  }),
]);

/** A Kubernetes kind as manifests spell it (`Deployment`, not `deployment`). */
const kubeKind = z.string().regex(/^[A-Z][A-Za-z0-9]*$/, {
  error: (issue) => {
    const input = typeof issue.input === 'string' ? issue.input : '';
    const guess = /^[a-z][A-Za-z0-9]*$/.test(input)
      ? `; did you mean '${input[0]!.toUpperCase()}${input.slice(1)}'?`
      : '';
    return `must be a Kubernetes kind as manifests write it, e.g. Deployment${guess}`;
  },
});

/**
 * What a criterion needs to find in the submission to be graded at all. When
 * it is missing the criterion scores 0 and the report carries `message`, so
 * an empty repository never collects points for what it does not contain.
 */
export const requirementSchema = z.strictObject({
  /** What the criterion expected, said to the student when it is missing. */
  message: z.string().min(1).optional(),
  /**
   * Objects the manifests must contain, at least one of them: `{ kind }` an
   * object of that kind is defined; `{ kind, referenced: true }` a workload
   * refers to one (secretKeyRef, envFrom, volume...), defined or created out
   * of band. Without `anyOf`, the criterion needs one of its checks to have
   * examined something.
   */
  anyOf: z
    .array(z.strictObject({ kind: kubeKind, referenced: z.boolean().optional() }))
    .min(1, 'list at least one object, e.g. { kind: Deployment }')
    .optional(),
});
export type RequirementFile = z.infer<typeof requirementSchema>;

export const criterionSchema = z.strictObject({
  id: z.string().regex(kebab, 'must be kebab-case, e.g. resource-limits'),
  title: z.string().min(1),
  description: z.string().optional(),
  points: z.number().min(0),
  scoring: scoringSchema.optional(),
  /** Nothing to grade is full points (e.g. an Ingress criterion for labs that need none). */
  optional: z.boolean().optional(),
  requires: requirementSchema.optional(),
  checks: z.array(checkRefSchema).min(1, 'a criterion needs at least one check'),
});

export const stageConfigSchema = z.strictObject({
  /** Default: enabled when any criterion uses one of the stage's checks. */
  enabled: z.boolean().optional(),
  timeoutSeconds: z.number().positive().max(3600).optional(),
  /** Validated by the stage's own settings schema. */
  settings: z.record(z.string(), z.unknown()).optional(),
});

export const rubricFileSchema = z.strictObject({
  apiVersion: z.literal('labgrader.dev/v1'),
  kind: z.literal('Rubric'),
  id: z.string().regex(kebab, 'must be kebab-case, e.g. lab-85'),
  title: z.string().min(1),
  description: z.string().optional(),
  stages: z
    .strictObject({
      docs: stageConfigSchema.optional(),
      lint: stageConfigSchema.optional(),
      cluster: stageConfigSchema.optional(),
    })
    .optional(),
  criteria: z.array(criterionSchema).min(1, 'a rubric needs at least one criterion'),
});
export type RubricFile = z.infer<typeof rubricFileSchema>;
