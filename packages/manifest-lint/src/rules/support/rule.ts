/**
 * The shape every lint rule module has: metadata plus a `run` that reports
 * findings about subjects. `defineRule` is core's `defineCheck` (the one way
 * every stage writes a check) for the lint stage: findings get the rule's id,
 * fix hint and docs link, identical findings are kept once, and
 * examined/passed are counted from the subjects (partial credit).
 */
import {
  defineCheck,
  type CheckDefinition,
  type CheckReporter,
  type ReportedFinding,
  type Severity,
} from '@labgrader/core';
import type { z } from 'zod';
import type { LintContext } from '../../context.js';

export type Report = ReportedFinding;

export type RuleReporter = CheckReporter;

export interface RuleDefinition<Options> {
  id: `lint/${string}`;
  title: string;
  rationale: string;
  severity: Severity;
  fixHint: string;
  docsUrl: string;
  options: z.ZodType<Options>;
  run(context: LintContext, options: Options, reporter: RuleReporter): void;
}

export type LintRule<Options = unknown> = CheckDefinition<LintContext, Options>;

export function defineRule<Options>(rule: RuleDefinition<Options>): LintRule<Options> {
  return defineCheck<LintContext, Options>({ ...rule, stage: 'lint' });
}

/** A Markdown fix hint: one sentence and a YAML snippet. */
export function hint(text: string, yaml: string): string {
  return `${text}\n\n\`\`\`yaml\n${yaml.replace(/^\n+|\s+$/g, '')}\n\`\`\``;
}
