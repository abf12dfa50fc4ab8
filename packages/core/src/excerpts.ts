/**
 * Source excerpts: the few lines of the graded files around each finding,
 * kept beside a grading so the dashboard can show a finding in context after
 * the workspace is gone. Pure: the files come in as text (the caller reads
 * them through RepoFiles), nothing is read or written here.
 *
 * Secrets are never kept. Before any line is cut out of a file:
 *  - every value under `data:` / `stringData:` of a `kind: Secret` object is
 *    replaced by `[REDACTED]` (block scalars and flow maps included);
 *  - the value of any key that names a credential (`password`, `token`,
 *    `apiKey`, `DB_PASSWORD`…; not `secretName`, `secretKeyRef`), and the
 *    `value:` of an env entry whose `name:` names one;
 *  - anything that looks like a token: GitHub tokens, credentials in URLs,
 *    bearer headers and private keys (redactSecrets), JWTs, AWS access keys,
 *    Slack tokens, and long random-looking strings (40+ characters mixing
 *    upper case, lower case and digits).
 * The redaction works on lines and indentation, not a YAML parse, so it also
 * covers files that do not parse; when in doubt it redacts.
 */
import { z } from 'zod';
import type { ReportFinding } from './report.js';
import { redactSecrets } from './redact.js';

export const REDACTED = '[REDACTED]';

export const sourceExcerptSchema = z.object({
  /** Repository-relative POSIX path. */
  file: z.string(),
  /** Line number (1-based) of `lines[0]`. */
  startLine: z.number().int().min(1),
  /** The lines, redacted and cut at `maxLineLength`. */
  lines: z.array(z.string()),
});
export type SourceExcerpt = z.infer<typeof sourceExcerptSchema>;

export const sourceExcerptsSchema = z.object({
  version: z.literal(1),
  excerpts: z.array(sourceExcerptSchema),
  /** Finding locations left without an excerpt by the limits (or an unreadable file). */
  omitted: z.number().int().min(0),
});
export type SourceExcerpts = z.infer<typeof sourceExcerptsSchema>;

export interface ExcerptLimits {
  /** Lines shown before and after a finding's line. */
  context: number;
  /** Excerpts (merged windows) kept per file. */
  maxExcerptsPerFile: number;
  /** Lines kept over the whole report. */
  maxLinesPerReport: number;
  /** Longer lines are cut (with `…`). */
  maxLineLength: number;
}

export const DEFAULT_EXCERPT_LIMITS: ExcerptLimits = {
  context: 3,
  maxExcerptsPerFile: 12,
  maxLinesPerReport: 600,
  maxLineLength: 240,
};

/** Files excerpts are taken from: those with a finding on a line. */
export function excerptFiles(findings: readonly Pick<ReportFinding, 'location'>[]): string[] {
  return [...new Set(findings.flatMap((f) => (f.location ? [f.location.file] : [])))].sort();
}

const indentOf = (line: string) => /^ */.exec(line)![0].length;
const blank = (line: string) => /^\s*(#.*)?$/.test(line);
/** Where a mapping key on this line starts (after `- ` list markers), and the key and rest, if it is a `key: …` line. */
function keyLine(line: string): { col: number; key: string; rest: string } | undefined {
  const m = /^((?: *- +)*)( *)(?:"([^"]+)"|'([^']+)'|([^\s:#'"{}[\],][^:#]*?))\s*:(?:\s+|$)(.*)$/.exec(line);
  if (!m) return undefined;
  return { col: m[1]!.length + m[2]!.length, key: (m[3] ?? m[4] ?? m[5])!.trim(), rest: m[6]!.trim() };
}

const CREDENTIAL =
  /(pass(word|wd|phrase)?|pwd|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|client[-_.]?secret|credentials?|auth[-_.]?key|dsn)$|^(pass(word)?|secret|token)/i;
/** Keys that name a credential but hold a reference to it (a Secret's name, a key in it, a file path). */
const REFERENCE = /(name|names|ref|refs|keyref|path|file|mount|type|ttl|period|seconds|expiration|length|enabled)$/i;
export function namesCredential(key: string): boolean {
  const k = key.replace(/^["']|["']$/g, '');
  return CREDENTIAL.test(k.replace(/[-_.]/g, '_')) && !REFERENCE.test(k);
}

const TOKEN_PATTERNS: readonly RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWT
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key id
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
];
/** 40+ characters of token alphabet mixing upper, lower and digits (not a hex digest, not a word). */
const RANDOM = /[A-Za-z0-9+/_=-]{40,}/g;
function looksRandom(s: string): boolean {
  return /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);
}

/** The tokens in one line replaced (what needs no context). */
export function redactTokens(line: string): string {
  let out = redactSecrets(line);
  for (const p of TOKEN_PATTERNS) out = out.replace(p, REDACTED);
  return out.replace(RANDOM, (s) => (looksRandom(s) ? REDACTED : s));
}

/** `key: value` → `key: [REDACTED]` (a comment after the value goes with it). */
function redactValue(line: string): string {
  return line.replace(/^((?: *- +)*(?: *)(?:"[^"]+"|'[^']+'|[^\s:#'"{}[\],][^:#]*?)\s*:)(?:\s+.*)?$/, `$1 ${REDACTED}`);
}

/** The line range [from, to) of the block under line `i` (lines more indented than `col`, blank lines within). */
function blockAfter(lines: readonly string[], i: number, col: number): number {
  let end = i + 1;
  for (let j = i + 1; j < lines.length; j += 1) {
    const line = lines[j]!;
    if (/^(---|\.\.\.)\s*$/.test(line)) break;
    if (blank(line)) continue;
    const k = keyLine(line);
    const itemCol = /^( *)- /.exec(line)?.[1]!.length;
    if ((k ? k.col : indentOf(line)) <= col && (itemCol === undefined || itemCol < col)) break;
    if (itemCol !== undefined && itemCol < col) break;
    end = j + 1;
  }
  return end;
}

/**
 * The lines of the mapping that line `i` (a key at column `col`) belongs to:
 * its sibling keys and their blocks, up to the enclosing item or key.
 */
function mappingOf(lines: readonly string[], i: number, col: number): [number, number] {
  const isBoundary = (line: string) => /^(---|\.\.\.)\s*$/.test(line);
  let from = i;
  // A `- key:` line starts its item: nothing before it belongs to the mapping.
  for (let j = /^ *- /.test(lines[i]!) ? -1 : i - 1; j >= 0; j -= 1) {
    const line = lines[j]!;
    if (isBoundary(line)) break;
    if (blank(line)) continue;
    const k = keyLine(line);
    const lineCol = k ? k.col : indentOf(line);
    if (lineCol < col) {
      // `- key:` starting this item belongs to it.
      if (k && k.col === col && /^ *- /.test(line)) from = j;
      break;
    }
    if (lineCol === col && /^ *- /.test(line) && k?.col === col) {
      from = j;
      break;
    }
    from = j;
  }
  let to = i + 1;
  for (let j = i + 1; j < lines.length; j += 1) {
    const line = lines[j]!;
    if (isBoundary(line)) break;
    if (blank(line)) continue;
    const k = keyLine(line);
    const lineCol = k ? k.col : indentOf(line);
    if (lineCol < col) break;
    if (lineCol === col && /^ *- /.test(line)) break; // the next list item
    to = j + 1;
  }
  return [from, to];
}

/** Redacts a block scalar or flow collection that follows `key:` on line `i`. Returns the last line index redacted. */
function redactBlock(out: string[], i: number, col: number): number {
  const end = blockAfter(out, i, col);
  let scalarUntil = -1; // inside a block scalar (`key: |`): its lines are content, not keys
  for (let j = i + 1; j < end; j += 1) {
    const line = out[j]!;
    if (blank(line)) continue;
    const k = j > scalarUntil ? keyLine(line) : undefined;
    if (k && !/^[|>]/.test(k.rest) && k.rest !== '' && !/^[[{]/.test(k.rest)) out[j] = redactValue(line);
    else if (k && k.rest === '')
      continue; // a nested mapping's key: its values follow
    else if (k) {
      out[j] = redactValue(line);
      scalarUntil = blockAfter(out, j, k.col) - 1;
      for (let n = j + 1; n <= scalarUntil; n += 1)
        if (!blank(out[n]!)) out[n] = `${' '.repeat(indentOf(out[n]!))}${REDACTED}`;
      j = scalarUntil;
    } else out[j] = `${' '.repeat(indentOf(line))}${REDACTED}`;
  }
  return end - 1;
}

/** A value that cannot be a secret: a boolean, a number, null. */
const HARMLESS = /^(true|false|yes|no|on|off|null|~|-?[0-9]+(\.[0-9]+)?)\s*(#.*)?$/i;

function redactKeyValue(out: string[], i: number): void {
  const k = keyLine(out[i]!);
  if (!k || HARMLESS.test(k.rest)) return;
  if (k.rest === '' || /^[|>][-+0-9]*\s*(#.*)?$/.test(k.rest) || /^[[{]/.test(k.rest) || /^&\S+\s*$/.test(k.rest)) {
    if (k.rest !== '') out[i] = redactValue(out[i]!);
    redactBlock(out, i, k.col);
    return;
  }
  out[i] = redactValue(out[i]!);
  // A quoted or plain scalar may continue on more indented lines.
  redactBlock(out, i, k.col);
}

const SECRET_KIND = /^["']?Secret["']?\s*,?\s*(#.*)?$/;

/** The file's lines with every secret replaced (see the module comment). */
export function redactSourceLines(text: string): string[] {
  const out = text.replace(/\r\n?/g, '\n').split('\n');
  // Private keys spanning lines.
  for (let i = 0; i < out.length; i += 1) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(out[i]!)) {
      let j = i;
      while (j < out.length && !/-----END [A-Z ]*PRIVATE KEY-----/.test(out[j]!)) j += 1;
      for (let n = i; n <= Math.min(j, out.length - 1); n += 1)
        out[n] = `${' '.repeat(indentOf(out[n]!))}${REDACTED} (private key)`;
      i = j;
    }
  }
  for (let i = 0; i < out.length; i += 1) {
    const line = out[i]!;
    const k = keyLine(line);
    if (k && k.key === 'kind' && SECRET_KIND.test(k.rest)) {
      // A Secret: redact everything under its data / stringData (wherever they are in its mapping).
      const [from, to] = mappingOf(out, i, k.col);
      for (let j = from; j < to; j += 1) {
        const sibling = keyLine(out[j]!);
        if (sibling && sibling.col === k.col && /^(data|stringData|binaryData)$/.test(sibling.key)) {
          if (sibling.rest !== '') out[j] = redactValue(out[j]!);
          const end = redactBlock(out, j, sibling.col);
          j = end;
        }
      }
    }
    // JSON: "kind": "Secret" on one line with the data further on.
    if (/"kind"\s*:\s*"Secret"/.test(line) && k?.key !== 'kind') {
      for (let j = i; j < out.length && !/^(---)\s*$/.test(out[j]!); j += 1) {
        if (/"(data|stringData|binaryData)"\s*:/.test(out[j]!)) {
          out[j] = out[j]!.replace(/("(data|stringData|binaryData)"\s*:\s*).*/, `$1${REDACTED}`);
          redactBlock(out, j, indentOf(out[j]!));
        }
      }
    }
  }
  for (let i = 0; i < out.length; i += 1) {
    const k = keyLine(out[i]!);
    if (k && namesCredential(k.key) && k.rest !== REDACTED) {
      const before = out[i];
      redactKeyValue(out, i);
      if (before !== out[i]) continue;
    }
    // An env entry (`- name: DB_PASSWORD` … `value: x`): its value, wherever it sits in the item.
    if (k && k.key === 'name' && namesCredential(k.rest.replace(/^["']|["']$/g, '').replace(/\s*#.*$/, ''))) {
      const [from, to] = mappingOf(out, i, k.col);
      for (let j = from; j < to; j += 1) {
        const sibling = keyLine(out[j]!);
        if (sibling && sibling.col === k.col && sibling.key === 'value') redactKeyValue(out, j);
      }
    }
    // `PASSWORD=…` in shell, .env or Markdown.
    out[i] = out[i]!.replace(
      /\b([A-Za-z0-9_.-]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY)[A-Za-z0-9_]*)=(?!\s|$)(\S+)/gi,
      (all, key: string) => (REFERENCE.test(key) ? all : `${key}=${REDACTED}`),
    );
    out[i] = redactTokens(out[i]!);
  }
  return out;
}

function cut(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Excerpts around each finding's line: ±`context` lines, overlapping windows
 * merged, at most `maxExcerptsPerFile` per file and `maxLinesPerReport`
 * lines in all (the files in path order, a file's windows in line order).
 * `files` maps a path to its text; a file missing from it (unreadable,
 * binary, too large) gets no excerpt.
 */
export function extractExcerpts(
  findings: readonly Pick<ReportFinding, 'location'>[],
  files: ReadonlyMap<string, string>,
  limits: ExcerptLimits = DEFAULT_EXCERPT_LIMITS,
): SourceExcerpts {
  const linesByFile = new Map<string, number[]>();
  let located = 0;
  for (const f of findings) {
    if (!f.location) continue;
    located += 1;
    linesByFile.set(f.location.file, [...(linesByFile.get(f.location.file) ?? []), f.location.line]);
  }
  const excerpts: SourceExcerpt[] = [];
  let budget = limits.maxLinesPerReport;
  let covered = 0;
  for (const file of [...linesByFile.keys()].sort()) {
    const text = files.get(file);
    const wanted = [...new Set(linesByFile.get(file)!)].sort((a, b) => a - b);
    if (text === undefined) continue;
    const lines = redactSourceLines(text);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    // Merge the windows.
    const windows: [number, number, number[]][] = [];
    for (const line of wanted) {
      if (line > lines.length) continue;
      const from = Math.max(1, line - limits.context);
      const to = Math.min(lines.length, line + limits.context);
      const last = windows[windows.length - 1];
      if (last && from <= last[1] + 1) {
        last[1] = Math.max(last[1], to);
        last[2].push(line);
      } else windows.push([from, to, [line]]);
    }
    for (const [from, to, hits] of windows.slice(0, limits.maxExcerptsPerFile)) {
      const size = to - from + 1;
      if (size > budget) break;
      budget -= size;
      excerpts.push({
        file,
        startLine: from,
        lines: lines.slice(from - 1, to).map((l) => cut(l, limits.maxLineLength)),
      });
      const hitSet = new Set(hits);
      covered += findings.filter((f) => f.location?.file === file && hitSet.has(f.location.line)).length;
    }
  }
  return { version: 1, excerpts, omitted: located - covered };
}

/** The lines of `excerpts` around `line` of `file` (±`context`), with their numbers, if an excerpt holds that line. */
export function excerptAround(
  excerpts: SourceExcerpts | undefined,
  file: string,
  line: number,
  context = DEFAULT_EXCERPT_LIMITS.context,
): { number: number; text: string }[] | undefined {
  const e = excerpts?.excerpts.find(
    (x) => x.file === file && line >= x.startLine && line < x.startLine + x.lines.length,
  );
  if (!e) return undefined;
  const from = Math.max(e.startLine, line - context);
  const to = Math.min(e.startLine + e.lines.length - 1, line + context);
  const out: { number: number; text: string }[] = [];
  for (let n = from; n <= to; n += 1) out.push({ number: n, text: e.lines[n - e.startLine]! });
  return out;
}
