import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import type { BlockEvidence } from '../failure/content.js';
import { scoreFailureContent } from '../failure/content.js';
import { detectParts, FailureReader, STANDARD_PARTS, type PartSpec } from '../failure/parts.js';
import { compilePatterns } from '../markdown/document.js';
import { explainSelection, selectSection } from '../markdown/sections.js';
import { patternSchema, reviewOfContentSelection } from './required-sections.js';
import { documentOf, notesLocation, notesUnavailable, plural, quote } from './shared.js';

export const failurePartSchema = z.strictObject({
  /** Stable id, used as the finding subject; `performed`, `observed`, `recovery` and `learned` have built-in words. */
  id: z.string().min(1),
  /** What the student must describe, completing "does not say …". */
  title: z.string().min(1),
  /** More sub-headings and paragraph labels ("**Recovery:**"): regular expressions that start at a word. */
  patterns: z.array(patternSchema).default([]),
  /** More words that tell this part in prose (whole words, on text without accents). */
  keywords: z.array(patternSchema).default([]),
});
export type FailurePart = z.infer<typeof failurePartSchema>;

export const DEFAULT_FAILURE_PARTS: FailurePart[] = STANDARD_PARTS.map((p) => ({
  ...p,
  patterns: [...p.patterns],
  keywords: [...p.keywords],
}));

/** Extra patterns that make a code block count as evidence (the built-in rules read kubectl commands and output). */
export const DEFAULT_EVIDENCE_PATTERNS: string[] = [];

export const failureAnalysisOptions = z.strictObject({
  /** More headings that name the controlled failure section (the vocabulary has them in every configured language). */
  sectionPatterns: z.array(patternSchema).default([]),
  parts: z
    .array(failurePartSchema)
    .min(1)
    .refine((parts) => new Set(parts.map((p) => p.id)).size === parts.length, 'part ids must be unique')
    .default(DEFAULT_FAILURE_PARTS),
  /** Distinct keywords needed to find a part that has no heading or label of its own. */
  minKeywordHits: z.number().int().min(1).default(2),
  /** Words a part's sub-section or labelled paragraph needs to count. */
  minPartWords: z.number().int().min(0).default(5),
  /** Whether the section must show evidence: kubectl commands or real kubectl output in a code block. */
  requireEvidence: z.boolean().default(true),
  /** Patterns (multi-line) that also make a code block evidence, e.g. another CLI's output. */
  evidencePatterns: z.array(patternSchema).default(DEFAULT_EVIDENCE_PATTERNS),
});
export type FailureAnalysisOptions = z.infer<typeof failureAnalysisOptions>;

type BlockVerdict = { block: BlockEvidence; kind: 'evidence' | 'unsure' | 'fake' | 'none'; why: string };

function judgeBlock(block: BlockEvidence, extra: readonly RegExp[]): BlockVerdict {
  const fake = block.tables.filter((t) => t.verdict === 'implausible');
  if (fake.length > 0) {
    const t = fake[0]!;
    return { block, kind: 'fake', why: `the ${t.kind} table at line ${block.line + t.line} ${t.reasons.join('; ')}` };
  }
  const unsure = block.tables.filter((t) => t.verdict === 'unknown-names');
  const plausible = block.tables.filter((t) => t.verdict === 'plausible');
  const parts: string[] = [];
  if (block.commands.length > 0) parts.push(plural(block.commands.length, 'kubectl command'));
  if (plausible.length > 0) parts.push(`kubectl ${[...new Set(plausible.map((t) => t.kind))].join(', ')} output`);
  if (block.events.length > 0) parts.push(`events (${block.events.slice(0, 3).join(', ')})`);
  if (block.results > 0) parts.push(plural(block.results, 'kubectl result line'));
  if (unsure.length > 0 && plausible.length === 0 && block.commands.length + block.results === 0) {
    return {
      block,
      kind: 'unsure',
      why: `the ${unsure[0]!.kind} output at line ${block.line + unsure[0]!.line}: ${unsure[0]!.reasons.join(', ')}`,
    };
  }
  if (parts.length > 0) {
    const why = unsure.length > 0 ? `${parts.join(', ')}; ${unsure[0]!.reasons.join(', ')}` : parts.join(', ');
    return { block, kind: unsure.length > 0 ? 'unsure' : 'evidence', why };
  }
  if (extra.some((re) => re.test(block.node.value)))
    return { block, kind: 'evidence', why: 'output the rubric accepts' };
  return { block, kind: 'none', why: '' };
}

export const failureAnalysis = defineCheck<DocsContext, FailureAnalysisOptions>({
  id: 'docs/failure-analysis',
  stage: 'docs',
  title: 'The controlled failure analysis says what was broken, what was seen, how it recovered and what was learned',
  rationale:
    'Breaking the service on purpose is only useful if the observations and lessons are written down, with the evidence, so the next incident is shorter.',
  severity: 'error',
  fixHint: [
    'Structure the analysis around the four questions (in English or French) and paste real command output:',
    '',
    '````markdown',
    '## Controlled failure analysis',
    '',
    '### What I did',
    'Deleted one of the three web pods: `kubectl delete pod -n lab85 web-7d9c-abcde`.',
    '',
    '### What I observed',
    '```console',
    '$ kubectl get pods -n lab85',
    'NAME              READY   STATUS              RESTARTS   AGE',
    'web-7d9c-xyz12    0/1     ContainerCreating   0          2s',
    '```',
    '',
    '### How it recovered',
    'The ReplicaSet created a replacement within 5 s; the Service only routed to ready pods.',
    '',
    '### What I learned',
    'The readiness probe kept traffic away from the new pod until it was ready.',
    '````',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/',
  options: failureAnalysisOptions,
  run(context, options, reporter) {
    const subjects = [...options.parts.map((p) => p.id), ...(options.requireEvidence ? ['evidence'] : [])];
    const doc = documentOf(context);
    if (!doc) return notesUnavailable(context, reporter, subjects, 'the controlled failure analysis');
    for (const s of subjects) reporter.examine(s);
    const { lexicon } = context;
    const objects = context.inventory.objects;
    const reader = new FailureReader(doc, lexicon, objects);
    const selection = selectSection(doc, lexicon, {
      topic: 'failure',
      patterns: options.sectionPatterns,
      judge: reader.judge(),
    });
    const section = selection.chosen?.heading;
    if (!section) {
      reporter.report({
        message: `The notes have no controlled failure analysis section (a heading such as "Controlled failure analysis" or "Analyse de panne", or a section that tells what you broke, with kubectl evidence).`,
        location: notesLocation(context),
        subject: 'section',
        alsoFails: subjects,
      });
      return;
    }
    const where = { file: doc.path, line: section.line, column: section.column };
    reporter.evidence('section', explainSelection(selection), where);
    const review = reviewOfContentSelection(selection, 'failure analysis');
    const { content } = reader.read(section);
    const scored = scoreFailureContent(content, 0);
    const parts: PartSpec[] = options.parts;
    const found = detectParts(
      doc,
      section,
      parts,
      lexicon,
      { minKeywordHits: options.minKeywordHits, minPartWords: options.minPartWords },
      content,
    );
    const named = `'${quote(section.text, 40)}'`;
    const why = content.filler.filler
      ? ` (its prose is filler: it ${content.filler.reason})`
      : scored.hypothetical
        ? ' (it is written as a hypothesis, "what would happen if", not as what you did and saw)'
        : '';
    let failing = 0;
    let passedParts = 0;
    for (const part of parts) {
      let detection = found.get(part.id);
      // A hypothetical text uses "would" and "recovered" without reporting anything.
      if (detection && scored.hypothetical && detection.how.startsWith('keywords')) detection = undefined;
      if (detection) {
        reporter.evidence(part.id, `found by ${detection.how}`, { file: doc.path, line: detection.line, column: 1 });
        passedParts++;
        continue;
      }
      failing++;
      reporter.report({
        message: `The controlled failure analysis (${named}) does not say ${part.title}${why}: add a sub-heading or a labelled paragraph for it.`,
        location: where,
        subject: part.id,
        ...(review ? { review } : {}),
      });
    }
    let unsureEvidence = false;
    if (options.requireEvidence) {
      const extra = compilePatterns(options.evidencePatterns).map((re) => new RegExp(re.source, `${re.flags}m`));
      const verdicts = content.blocks.map((b) => judgeBlock(b, extra));
      const proof = verdicts.find((v) => v.kind === 'evidence') ?? verdicts.find((v) => v.kind === 'unsure');
      const fake = verdicts.find((v) => v.kind === 'fake');
      if (proof?.kind === 'evidence') {
        reporter.evidence(
          'evidence',
          `${proof.block.node.lang ?? 'code'} block of ${plural(proof.block.node.value.split('\n').length, 'line')}: ${proof.why}`,
          { file: doc.path, line: proof.block.line, column: 1 },
        );
      } else if (proof?.kind === 'unsure') {
        unsureEvidence = true;
        reporter.report({
          severity: 'warning',
          message: `The kubectl output in the controlled failure analysis (line ${proof.block.line}) may not come from this lab: ${proof.why}. Half credit until an instructor confirms it.`,
          location: { file: doc.path, line: proof.block.line, column: 1 },
          subject: 'evidence',
          review: `the output is well-formed, but its names are not the manifests' (${objects
            .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind))
            .map((o) => o.name)
            .slice(0, 5)
            .join(', ')}): is it this lab's output?`,
        });
      } else if (fake) {
        reporter.report({
          message: `The kubectl output in the controlled failure analysis (line ${fake.block.line}) is not real kubectl output: ${fake.why}. Paste what kubectl printed.`,
          location: { file: doc.path, line: fake.block.line, column: 1 },
          subject: 'evidence',
        });
        failing++;
      } else {
        const blocks = content.codeBlocks.length;
        reporter.report({
          message:
            blocks === 0
              ? 'The controlled failure analysis shows no evidence: paste the kubectl commands you ran and their output (pod status, events) in a code block.'
              : `None of the ${plural(blocks, 'code block')} in the controlled failure analysis shows kubectl commands or their output (pod status, events).`,
          location: content.codeBlocks[0] ? { file: doc.path, line: content.codeBlocks[0], column: 1 } : where,
          subject: 'evidence',
          ...(review ? { review } : {}),
        });
        failing++;
      }
    }
    if (review && failing === 0) {
      reporter.report({
        severity: 'info',
        subject: 'section (review)',
        message: `The controlled failure analysis was taken to be ${named} (line ${section.line}) because of its content; its heading does not say so.`,
        location: where,
        review,
        fixHint: 'Give the section a heading that names it, e.g. "## Controlled failure analysis".',
      });
    }
    // Evidence an instructor has to confirm earns half of its share until then.
    if (unsureEvidence) reporter.credit((passedParts + 0.5) / subjects.length);
  },
});
