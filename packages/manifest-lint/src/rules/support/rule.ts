/**
 * The shape every lint rule module has: metadata plus a `run` that reports
 * findings about subjects. `defineRule` turns it into a core
 * CheckDefinition: findings get the rule's id, fix hint and docs link, and
 * examined/passed are counted from the subjects (partial credit).
 */
import {
  outcomeFromSubjects,
  type CheckDefinition,
  type Finding,
  type Severity,
  type SourceLocation,
} from '@labgrader/core';
import type { z } from 'zod';
import type { LintContext } from '../../context.js';

export interface Report {
  subject: string;
  message: string;
  location?: SourceLocation;
  /** Defaults to the rule's severity. */
  severity?: Severity;
}

export interface RuleReporter {
  /** Declare a subject the rule examined (passes unless a finding names it). */
  examine(subject: string): void;
  report(finding: Report): void;
}

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
  return {
    id: rule.id,
    stage: 'lint',
    title: rule.title,
    rationale: rule.rationale,
    severity: rule.severity,
    fixHint: rule.fixHint,
    docsUrl: rule.docsUrl,
    options: rule.options,
    check(context, options) {
      const subjects: string[] = [];
      const findings: Finding[] = [];
      const seen = new Set<string>();
      rule.run(context, options, {
        examine: (subject) => subjects.push(subject),
        report: ({ subject, message, location, severity }) => {
          // The same base file rendered by two overlays gives the same finding twice: keep one.
          const key = `${subject}\u0000${message}\u0000${location?.file}:${location?.line}:${location?.column}`;
          if (seen.has(key)) return;
          seen.add(key);
          const finding: Finding = {
            checkId: rule.id,
            severity: severity ?? rule.severity,
            message,
            fixHint: rule.fixHint,
            docsUrl: rule.docsUrl,
            subject,
          };
          if (location) finding.location = location;
          findings.push(finding);
        },
      });
      return outcomeFromSubjects(subjects, findings);
    },
  };
}

/** A Markdown fix hint: one sentence and a YAML snippet. */
export function hint(text: string, yaml: string): string {
  return `${text}\n\n\`\`\`yaml\n${yaml.replace(/^\n+|\s+$/g, '')}\n\`\`\``;
}
