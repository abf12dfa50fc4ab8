/**
 * What a section's content says about whether it is a failure analysis, and
 * what evidence it shows: kubectl commands and their output (judged by
 * kube/output.ts), Kubernetes events and pod states, timestamps and
 * durations, the words of the failure story (what was done, seen, how it
 * recovered, what was learned) and, against it, the modal words of a
 * hypothetical text ("what would happen if…").
 */
import type { Code, Nodes } from 'mdast';
import type { KubeObjectRef } from '@labgrader/core';
import { judgeFiller, type FillerVerdict } from '../language/filler.js';
import type { Lexicon } from '../language/lexicon.js';
import { FAILURE_PARTS, foldText, type FailurePartId } from '../language/vocabulary.js';
import { analyseTables, kubectlCommands, type TableVerdict } from '../kube/output.js';
import { countWords, proseSegments, walk } from '../markdown/document.js';
import { diagramLanguage } from '../diagrams/collect.js';

export interface BlockEvidence {
  node: Code;
  line: number;
  commands: string[];
  tables: TableVerdict[];
  events: string[];
  /** Other kubectl output lines (`pod "x" deleted`, `deployment.apps/web rolled back`). */
  results: number;
}

export interface FailureContent {
  prose: string;
  /** The prose folded (lower case, no accents or punctuation), segment by segment. */
  folded: string;
  /** Line in the notes of an offset in `folded`. */
  foldedLine: (index: number) => number;
  words: number;
  filler: FillerVerdict;
  blocks: BlockEvidence[];
  /** Every code block of the section that is not a diagram (shell output or not), by line. */
  codeBlocks: number[];
  /** kubectl commands in code blocks and inline code. */
  commands: number;
  events: string[];
  timestamps: number;
  /** Story parts with at least `minHits` distinct words, and the words. */
  story: Map<FailurePartId, { words: string[]; index: number }>;
  /** Modal words per 100 words of prose. */
  hypothetical: number;
}

export const EVENT_WORDS =
  /\b(ImagePullBackOff|ErrImagePull|CrashLoopBackOff|OOMKilled|FailedScheduling|FailedMount|FailedCreate|Unhealthy|Evicted|BackOff|Back-off restarting|Killing|SuccessfulCreate|SuccessfulDelete|ScalingReplicaSet|Readiness probe failed|Liveness probe failed|Terminating|ContainerCreating|CreateContainerConfigError|NodeNotReady)\b/g;

const TIMESTAMP =
  /\b(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\d{1,2}:\d{2}(?::\d{2})?|\d+(?:[.,]\d+)?\s?(?:ms|s|sec|secs|seconds?|secondes?|min|minutes?)\b)/g;

const RESULT_LINE =
  /^\s*(?:[a-z]+(?:\.[a-z0-9.-]+)?\/[a-z0-9.-]+|[a-z]+ "[^"]+") (?:rolled back|restarted|scaled|deleted|configured|created|unchanged|patched|image updated|drained|cordoned|uncordoned)\b|successfully rolled out|Waiting for (?:deployment|rollout)/m;

const SHELLISH =
  /^(console|shell|sh|bash|zsh|text|plaintext|terminal|shell-session|powershell|ps|log|logs|output|txt)?$/i;

/** The line where a text segment's first word is (segments may start with a line break). */
function lineOf(value: string, line: number): number {
  const lead = /^\s*/.exec(value)![0];
  return line + (lead.match(/\n/g)?.length ?? 0);
}

export function analyseBlock(node: Code, objects: readonly KubeObjectRef[]): BlockEvidence {
  const value = node.value;
  const events = [...new Set([...value.matchAll(EVENT_WORDS)].map((m) => m[1]!))];
  return {
    node,
    line: node.position?.start.line ?? 1,
    commands: kubectlCommands(value),
    tables: analyseTables(value, objects),
    events,
    results: value.split('\n').filter((l) => RESULT_LINE.test(l)).length,
  };
}

export function analyseFailureContent(
  nodes: readonly Nodes[],
  lexicon: Lexicon,
  objects: readonly KubeObjectRef[],
  fallbackLine: number,
): FailureContent {
  const segments = proseSegments(nodes);
  let prose = '';
  let folded = '';
  const starts: { offset: number; line: number }[] = [];
  for (const s of segments) {
    prose += `${s.value}\n`;
    const f = foldText(s.value);
    if (f === '') continue;
    starts.push({ offset: folded.length, line: lineOf(s.value, s.line) });
    folded += `${f} `;
  }
  const foldedLine = (index: number): number => {
    let line = fallbackLine;
    for (const s of starts) if (s.offset <= index) line = s.line;
    return line;
  };
  const blocks: BlockEvidence[] = [];
  const codeBlocks: number[] = [];
  let inlineCommands = 0;
  walk(nodes, (n) => {
    if (n.type === 'code' && !diagramLanguage(n)) codeBlocks.push(n.position?.start.line ?? fallbackLine);
    if (n.type === 'code' && !diagramLanguage(n) && SHELLISH.test(n.lang ?? '')) blocks.push(analyseBlock(n, objects));
    else if (n.type === 'inlineCode' && /^\s*\$?\s*kubectl\s+[a-z]/.test(n.value)) inlineCommands++;
  });
  const words = countWords(prose);
  const filler = judgeFiller(prose);
  const allText = `${prose}\n${blocks.map((b) => b.node.value).join('\n')}`;
  const events = [...new Set([...allText.matchAll(EVENT_WORDS)].map((m) => m[1]!))];
  const timestamps = [...allText.matchAll(TIMESTAMP)].length;
  const story = new Map<FailurePartId, { words: string[]; index: number }>();
  if (!filler.filler) {
    for (const part of FAILURE_PARTS) {
      const hits = lexicon.story(part).all(folded);
      const distinct = [...new Set(hits.map((h) => h.text))];
      if (distinct.length > 0) story.set(part, { words: distinct, index: hits[0]!.index });
    }
  }
  const modal = lexicon.hypothetical.all(folded).length;
  return {
    prose,
    folded,
    foldedLine,
    words,
    filler,
    blocks,
    codeBlocks,
    commands: inlineCommands + blocks.reduce((n, b) => n + b.commands.length, 0),
    events,
    timestamps,
    story,
    hypothetical: words === 0 ? 0 : (modal * 100) / words,
  };
}

export interface ContentScore {
  score: number;
  /** Why, for the evidence ("2 kubectl commands, kubectl get pods output, ImagePullBackOff"). */
  reasons: string[];
  /** Whether this content alone makes the section a failure analysis (no heading needed). */
  looksLikeFailureAnalysis: boolean;
  hypothetical: boolean;
}

/** How much a section's content looks like a written failure analysis. */
export function scoreFailureContent(content: FailureContent, partsFound: number): ContentScore {
  const reasons: string[] = [];
  let score = 0;
  const plausible = content.blocks.flatMap((b) => b.tables).filter((t) => t.verdict !== 'implausible');
  if (content.commands > 0) {
    score += 1;
    reasons.push(`${content.commands} kubectl command${content.commands === 1 ? '' : 's'}`);
  }
  if (plausible.length > 0) {
    score += 2;
    reasons.push(`kubectl output (${[...new Set(plausible.map((t) => t.kind))].join(', ')})`);
  }
  if (content.events.length > 0) {
    score += 1.5;
    reasons.push(content.events.slice(0, 3).join(', '));
  }
  if (content.timestamps > 0) {
    score += 0.5;
    reasons.push('timings');
  }
  if (partsFound > 0) {
    score += 0.75 * partsFound;
    reasons.push(`${partsFound} of the 4 parts of a failure story`);
  }
  const hypothetical = content.hypothetical > 4 && content.commands === 0 && plausible.length === 0;
  if (hypothetical) {
    score -= 2;
    reasons.push('written as a hypothesis (would, could, if…)');
  }
  const evidence = plausible.length > 0 || content.events.length > 0;
  return {
    score,
    reasons,
    looksLikeFailureAnalysis:
      evidence && content.commands > 0 && partsFound >= 3 && content.words >= 40 && !content.filler.filler,
    hypothetical,
  };
}
