/**
 * One way to write a check, for every stage: metadata, an options schema and
 * a `run` that talks to a reporter. The reporter is what turns a check's
 * observations into a CheckOutcome the same way everywhere:
 *
 *  - `examine(subject)` declares a subject the check looked at (a container,
 *    a section, a drill…); it passes unless a finding that costs points
 *    (error or warning) names it;
 *  - `report({...})` records a finding: the check's id, its default severity,
 *    fix hint and docs link are filled in; identical findings (same subject,
 *    message and location) are kept once; `alsoFails` names further subjects
 *    the same finding fails (one "could not be graded" finding for all the
 *    subjects a check would have examined);
 *  - `evidence(label, detail, location?)` records what supports the grade;
 *  - `credit(score)` gives finer credit than whole subjects (recovery-time
 *    bands, an unsure diagram) and `summary(text)` the criterion's one line.
 *
 * examined = distinct examined subjects, passed = those no finding fails.
 * `run` may be synchronous (the outcome is then returned synchronously) or
 * async.
 */
import type { z } from 'zod';
import type { CheckDefinition, CheckMeta, CheckOutcome } from './checks.js';
import type { Evidence, Finding, Severity, SourceLocation } from './findings.js';

export interface ReportedFinding {
  /** What the finding is about; failing findings make this subject fail. */
  subject: string;
  message: string;
  location?: SourceLocation;
  /** Defaults to the check's severity. */
  severity?: Severity;
  /** Defaults to the check's fix hint. */
  fixHint?: string;
  /** Set when the grader is unsure: why an instructor should look (shown in every report format). */
  review?: string;
  /** Other examined subjects this same finding fails. */
  alsoFails?: readonly string[];
}

export interface CheckReporter {
  /** Declare a subject the check examined (passes unless a finding names it). */
  examine(subject: string): void;
  report(finding: ReportedFinding): void;
  evidence(label: string, detail: string, location?: SourceLocation): void;
  /** Credit in [0, 1], when it is finer than passed/examined. */
  credit(score: number): void;
  /** One line for the criterion's summary instead of "passed/examined pass". */
  summary(text: string): void;
}

export interface CheckSpec<Context, Options> extends CheckMeta {
  options: z.ZodType<Options>;
  run(context: Context, options: Options, reporter: CheckReporter): void | Promise<void>;
}

interface Tally {
  subjects: string[];
  findings: Finding[];
  failing: Set<string>;
  evidence: Evidence[];
  score?: number;
  summary?: string;
}

function reporterFor(meta: CheckMeta, tally: Tally): CheckReporter {
  const seen = new Set<string>();
  return {
    examine: (subject) => {
      tally.subjects.push(subject);
    },
    report: ({ subject, message, location, severity, fixHint, review, alsoFails }) => {
      // The same base file rendered by two overlays gives the same finding twice: keep one.
      const key = `${subject}\u0000${message}\u0000${location?.file}:${location?.line}:${location?.column}`;
      if (seen.has(key)) return;
      seen.add(key);
      const finding: Finding = {
        checkId: meta.id,
        severity: severity ?? meta.severity,
        message,
        fixHint: fixHint ?? meta.fixHint,
        subject,
      };
      if (meta.docsUrl) finding.docsUrl = meta.docsUrl;
      if (location) finding.location = location;
      if (review !== undefined) finding.review = review;
      tally.findings.push(finding);
      if (finding.severity !== 'info') {
        tally.failing.add(subject);
        for (const other of alsoFails ?? []) tally.failing.add(other);
      }
    },
    evidence: (label, detail, location) => {
      tally.evidence.push(
        location ? { checkId: meta.id, label, detail, location } : { checkId: meta.id, label, detail },
      );
    },
    credit: (score) => {
      tally.score = score;
    },
    summary: (text) => {
      tally.summary = text;
    },
  };
}

function outcomeOf(tally: Tally): CheckOutcome {
  const unique = new Set(tally.subjects);
  let passed = 0;
  for (const subject of unique) if (!tally.failing.has(subject)) passed += 1;
  const outcome: CheckOutcome = { findings: tally.findings, examined: unique.size, passed };
  if (tally.evidence.length > 0) outcome.evidence = tally.evidence;
  if (tally.score !== undefined) outcome.score = tally.score;
  if (tally.summary !== undefined) outcome.summary = tally.summary;
  return outcome;
}

/** Turns a check written against the reporter into the CheckDefinition registries hold. */
export function defineCheck<Context, Options>(spec: CheckSpec<Context, Options>): CheckDefinition<Context, Options> {
  const { run, ...rest } = spec;
  const definition: CheckDefinition<Context, Options> = {
    ...rest,
    check(context, options) {
      const tally: Tally = { subjects: [], findings: [], failing: new Set(), evidence: [] };
      const done = run(context, options, reporterFor(definition, tally));
      return done instanceof Promise ? done.then(() => outcomeOf(tally)) : outcomeOf(tally);
    },
  };
  return definition;
}
