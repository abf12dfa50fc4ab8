import { z } from 'zod';
import type { Code, Nodes } from 'mdast';
import type { CheckDefinition, Evidence, Finding } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import {
  compilePatterns,
  countWords,
  findSection,
  plainText,
  proseSegments,
  sectionBody,
  subheadings,
  walk,
  type HeadingInfo,
  type NotesDocument,
} from '../markdown/document.js';
import { patternSchema } from './required-sections.js';
import { documentOf, makeEvidence, makeFinding, notesLocation, notesUnavailable, plural, quote } from './shared.js';

export const failurePartSchema = z.strictObject({
  /** Stable id, used as the finding subject. */
  id: z.string().min(1),
  /** What the student must describe, completing "does not say …". */
  title: z.string().min(1),
  /** Regular expressions for sub-headings and paragraph/list labels ("**Recovery:**"). */
  patterns: z.array(patternSchema).min(1),
  /** Regular expressions counted in the section's prose when there is no heading or label. */
  keywords: z.array(patternSchema).default([]),
});
export type FailurePart = z.infer<typeof failurePartSchema>;

export const DEFAULT_FAILURE_PARTS: FailurePart[] = [
  {
    id: 'performed',
    title: 'which failure was performed and how',
    patterns: [
      'what (i|we) (did|broke|changed|injected|tested)',
      '(failure|fault|chaos) (performed|injected|scenario|experiment|injection)',
      '^(the )?(experiment|scenario|procedure|steps|injection|setup|hypothesis|action|what was broken)\\b',
      'how (i|we) (broke|caused|triggered|injected)',
      '^(the )?failure$',
    ],
    keywords: [
      'kubectl (delete|scale|drain|cordon|set|edit|patch|apply|rollout|exec)',
      '\\bdelet(ed|ing)\\b',
      '\\bkill(ed|ing)\\b',
      '\\bscaled?\\b',
      '\\bdrain(ed)?\\b',
      '\\bcordon(ed)?\\b',
      '\\binject(ed|ing)?\\b',
      '\\bsimulat(ed|e|ing)\\b',
      '\\b(broke|break)\\b',
      '\\bremov(ed|e|ing)\\b',
      'wrong (image|tag|port|secret|password|config)',
      '\\bintroduc(ed|e)\\b',
      '\\btrigger(ed)?\\b',
    ],
  },
  {
    id: 'observed',
    title: 'what was observed (pod status, events, errors)',
    patterns: [
      'observ',
      'symptom',
      'what (happened|we saw|i saw)',
      '\\bimpact\\b',
      'detect',
      '\\bresults?\\b',
      'timeline',
      'monitoring',
    ],
    keywords: [
      '\\bobserv(ed|ing)\\b',
      '\\bnotic(ed|e)\\b',
      '\\bsaw\\b',
      '\\bCrashLoopBackOff\\b',
      '\\bOOMKilled\\b',
      '\\bImagePullBackOff\\b',
      '\\bErrImagePull\\b',
      '\\bPending\\b',
      '\\bTerminating\\b',
      '\\brestart(s|ed)?\\b',
      '\\bevents?\\b',
      '\\blogs?\\b',
      '\\b50[0234]\\b',
      '\\berrors?\\b',
      '\\bunavailable\\b',
      '\\bnot ready\\b',
      '\\bdowntime\\b',
      '\\blatency\\b',
    ],
  },
  {
    id: 'recovery',
    title: 'how the service recovered',
    patterns: [
      'recover',
      'restor',
      'resolution',
      'resolv',
      'mitigat',
      'remediat',
      '\\bfix',
      'roll(ed)? ?back',
      'self ?heal',
      'came back',
    ],
    keywords: [
      '\\brecover(ed|y|s|ing)?\\b',
      '\\brestor(ed|e|ing)\\b',
      '\\brolled back\\b',
      '\\brollout undo\\b',
      '\\bself-?heal',
      '\\brescheduled\\b',
      '\\breplaced\\b',
      '\\brecreated\\b',
      '\\bcame back\\b',
      '\\bback to (normal|ready|running|healthy)\\b',
      '\\bfixed\\b',
      '\\bresolved\\b',
    ],
  },
  {
    id: 'learned',
    title: 'what was learned',
    patterns: [
      'learn',
      'lesson',
      'takeaway',
      'conclusion',
      'improv',
      'next time',
      'follow ?up',
      'retro',
      'reflection',
      'what (i|we) would (change|do differently)',
      'action items',
    ],
    keywords: [
      '\\blearn(ed|t|ing)?\\b',
      '\\blessons?\\b',
      '\\btakeaways?\\b',
      '\\bnext time\\b',
      '\\bwould\\b',
      '\\bshould\\b',
      '\\bimprov(e|ed|ement|ements)\\b',
      '\\bin (the )?future\\b',
      '\\bconclu(de|ded|sion)\\b',
      '\\brealiz(ed|e)\\b',
    ],
  },
];

/** What counts as evidence in a code block: commands and their output. */
export const DEFAULT_EVIDENCE_PATTERNS: string[] = [
  '^\\s*(\\$|#|>|PS[^>]*>)?\\s*kubectl\\s+[a-z-]+',
  '^NAME\\s+READY\\s+STATUS\\s+RESTARTS',
  '^NAME\\s+READY\\s+UP-TO-DATE\\s+AVAILABLE',
  '^LAST SEEN\\s+TYPE\\s+REASON',
  '^\\s*Type\\s+Reason\\s+Age\\s+From\\s+Message',
  '\\b(CrashLoopBackOff|OOMKilled|ImagePullBackOff|ErrImagePull|Evicted|ContainerCreating|Back-off restarting)\\b',
  '\\b[a-z]+(\\.[a-z0-9.-]+)?/[a-z0-9.-]+ (rolled back|restarted|scaled|deleted|configured|created)\\b',
  '\\bdeployment "[^"]+" successfully rolled out\\b',
];

export const failureAnalysisOptions = z.strictObject({
  /** Headings that name the controlled failure section. */
  sectionPatterns: z
    .array(patternSchema)
    .min(1)
    .default(['fail', 'chaos', 'incident', 'outage', 'fault', 'post ?mortem', 'drill']),
  parts: z.array(failurePartSchema).min(1).default(DEFAULT_FAILURE_PARTS),
  /** Distinct keywords needed to find a part that has no heading or label of its own. */
  minKeywordHits: z.number().int().min(1).default(2),
  /** Words a part's sub-section or labelled paragraph needs to count. */
  minPartWords: z.number().int().min(0).default(5),
  /** Whether the section must show evidence: a code block with kubectl commands or output. */
  requireEvidence: z.boolean().default(true),
  evidencePatterns: z.array(patternSchema).min(1).default(DEFAULT_EVIDENCE_PATTERNS),
});
export type FailureAnalysisOptions = z.infer<typeof failureAnalysisOptions>;

interface Detection {
  how: string;
  line: number;
}

const CONTAINERS = new Set(['list', 'listItem', 'blockquote']);

/** Paragraph-level blocks of a section with their leading label ("**Recovery:**", "Recovery:"), if any. */
function labelledBlocks(nodes: readonly Nodes[]): { label: string; rest: string; line: number }[] {
  const out: { label: string; rest: string; line: number }[] = [];
  walk(
    nodes,
    (node) => {
      if (node.type !== 'paragraph') return;
      const text = plainText(node).replace(/\s+/g, ' ').trim();
      const first = node.children[0];
      let label: string | undefined;
      if (first && (first.type === 'strong' || first.type === 'emphasis')) label = plainText(first);
      else {
        const colon = /^([^:.!?]{1,60}):\s/.exec(text);
        if (colon && countWords(colon[1]!) <= 6) label = colon[1]!;
      }
      if (label === undefined) return;
      const rest = text.slice(text.indexOf(label) + label.length).replace(/^[\s:–—-]+/, '');
      out.push({ label: label.replace(/[:\s]+$/, ''), rest, line: node.position?.start.line ?? 1 });
    },
    (node) => !CONTAINERS.has(node.type) && node.type !== 'paragraph' && node.type !== 'root',
  );
  return out;
}

function detectPart(
  doc: NotesDocument,
  section: HeadingInfo,
  part: FailurePart,
  options: FailureAnalysisOptions,
  prose: string,
  proseLine: (index: number) => number,
): Detection | undefined {
  const patterns = compilePatterns(part.patterns);
  const matches = (text: string): boolean =>
    patterns.some(
      (re) =>
        re.test(text) ||
        re.test(
          text
            .toLowerCase()
            .replace(/[^\p{L}\p{N}]+/gu, ' ')
            .trim(),
        ),
    );
  for (const sub of subheadings(doc, section)) {
    if (!matches(sub.text)) continue;
    const words = proseSegments(sectionBody(doc, sub)).reduce((n, s) => n + countWords(s.value), 0);
    if (words >= options.minPartWords) return { how: `sub-heading '${quote(sub.text, 40)}'`, line: sub.line };
  }
  for (const block of labelledBlocks(sectionBody(doc, section))) {
    if (matches(block.label) && countWords(block.rest) >= options.minPartWords) {
      return { how: `label '${quote(block.label, 40)}'`, line: block.line };
    }
  }
  const hits: { keyword: string; index: number }[] = [];
  for (const keyword of compilePatterns(part.keywords)) {
    const m = keyword.exec(prose);
    if (m) hits.push({ keyword: m[0], index: m.index });
  }
  if (hits.length >= options.minKeywordHits) {
    hits.sort((a, b) => a.index - b.index);
    return {
      how: `keywords ${hits
        .slice(0, 4)
        .map((h) => `'${h.keyword}'`)
        .join(', ')}`,
      line: proseLine(hits[0]!.index),
    };
  }
  return undefined;
}

export const failureAnalysis: CheckDefinition<DocsContext, FailureAnalysisOptions> = {
  id: 'docs/failure-analysis',
  stage: 'docs',
  title: 'The controlled failure analysis says what was broken, what was seen, how it recovered and what was learned',
  rationale:
    'Breaking the service on purpose is only useful if the observations and lessons are written down, with the evidence, so the next incident is shorter.',
  severity: 'error',
  fixHint: [
    'Structure the analysis around the four questions and paste real command output:',
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
  check(context, options) {
    const meta = failureAnalysis;
    const subjects = [...options.parts.map((p) => p.id), ...(options.requireEvidence ? ['evidence'] : [])];
    const doc = documentOf(context);
    if (!doc) return notesUnavailable(meta, context, subjects.length, 'the controlled failure analysis');
    const section = findSection(doc, compilePatterns(options.sectionPatterns));
    if (!section) {
      return {
        findings: [
          makeFinding(meta, {
            message:
              'The notes have no controlled failure analysis section (a heading such as "Controlled failure analysis").',
            location: notesLocation(context),
            subject: 'section',
          }),
        ],
        examined: subjects.length,
        passed: 0,
      };
    }
    const body = sectionBody(doc, section);
    // The section's prose as one string, with a map from offsets back to lines.
    const segments = proseSegments(body);
    let prose = '';
    const starts: { offset: number; line: number }[] = [];
    for (const s of segments) {
      starts.push({ offset: prose.length, line: s.line });
      prose += `${s.value}\n`;
    }
    const proseLine = (index: number): number => {
      let line = section.line;
      for (const s of starts) if (s.offset <= index) line = s.line;
      return line;
    };
    const findings: Finding[] = [];
    const evidence: Evidence[] = [];
    const headingLocation = { file: doc.path, line: section.line, column: section.column };
    let passed = 0;
    for (const part of options.parts) {
      const found = detectPart(doc, section, part, options, prose, proseLine);
      if (found) {
        passed += 1;
        evidence.push(
          makeEvidence(meta, part.id, `found by ${found.how}`, { file: doc.path, line: found.line, column: 1 }),
        );
      } else {
        findings.push(
          makeFinding(meta, {
            message: `The controlled failure analysis ('${quote(section.text, 40)}') does not say ${part.title}: add a sub-heading or a labelled paragraph for it.`,
            location: headingLocation,
            subject: part.id,
          }),
        );
      }
    }
    if (options.requireEvidence) {
      const evidencePatterns = compilePatterns(options.evidencePatterns).map(
        (re) => new RegExp(re.source, `${re.flags}m`),
      );
      const blocks: Code[] = [];
      walk(body, (n) => {
        if (n.type === 'code') blocks.push(n);
      });
      const proof = blocks.find((b) => evidencePatterns.some((re) => re.test(b.value)));
      if (proof) {
        passed += 1;
        const lines = proof.value.split('\n').length;
        evidence.push(
          makeEvidence(
            meta,
            'evidence',
            `${proof.lang ?? 'code'} block of ${plural(lines, 'line')} with kubectl commands or output`,
            {
              file: doc.path,
              line: proof.position?.start.line ?? section.line,
              column: 1,
            },
          ),
        );
      } else {
        findings.push(
          makeFinding(meta, {
            message:
              blocks.length === 0
                ? 'The controlled failure analysis shows no evidence: paste the kubectl commands you ran and their output (pod status, events) in a code block.'
                : `None of the ${plural(blocks.length, 'code block')} in the controlled failure analysis shows kubectl commands or their output (pod status, events).`,
            location: blocks[0]?.position
              ? { file: doc.path, line: blocks[0].position.start.line, column: 1 }
              : headingLocation,
            subject: 'evidence',
          }),
        );
      }
    }
    return { findings, evidence, examined: subjects.length, passed };
  },
};
