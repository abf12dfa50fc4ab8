/**
 * Markdown for a pull-request comment or a job summary: the score, a table of
 * criteria, then the findings per criterion (and those no criterion owns)
 * with links to the exact lines when a `blobUrl` (e.g.
 * https://github.com/o/r/blob/<sha>) is given.
 *
 * Every string from the report goes through an escaper from
 * markdown-escape.ts, even instructor data (rubric and criterion titles):
 * identifiers (paths, check ids, the rubric id, the commit) as code spans,
 * everything else as prose. Messages are our sentences with student names
 * embedded; they carry no markup we rely on, so the whole message is escaped
 * as prose.
 */
import type { Report, ReportFinding, SourceLocation } from '@labgrader/core';
import { htmlText, markdownCode, markdownHint, markdownLinkDestination, markdownText } from './markdown-escape.js';
import { conciseEvidence } from './text.js';
import { encodeRepositoryPath, isPlainRelativePath } from './uri.js';

export interface MarkdownOptions {
  /** Base URL for file links, e.g. `https://github.com/owner/repo/blob/<sha>`. */
  blobUrl?: string;
  /** Cap the number of findings listed (GitHub comments are limited to 65,536 characters). */
  maxFindings?: number;
}

const STATUS: Record<string, string> = {
  passed: '✅ passed',
  partial: '🟡 partial',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
  'not-gradable': '⚠️ not graded',
};

const ICON: Record<string, string> = { error: '❌', warning: '⚠️', info: 'ℹ️' };

function pts(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0$/, '');
}

/** The line's URL on the forge, when the path is one a URL resolver leaves alone. */
function blobDestination(blobUrl: string, location: SourceLocation): string | undefined {
  if (!isPlainRelativePath(location.file)) return undefined;
  return markdownLinkDestination(
    `${blobUrl.replace(/\/$/, '')}/${encodeRepositoryPath(location.file)}#L${location.line}`,
  );
}

/** `file:line` as code, linked to the line when possible (a code span binds tighter than link brackets, §6.3). */
function locationLink(f: ReportFinding, blobUrl: string | undefined): string {
  if (!f.location) return '';
  const text = markdownCode(`${f.location.file}:${f.location.line}`);
  const destination = blobUrl ? blobDestination(blobUrl, f.location) : undefined;
  return destination ? `[${text}](${destination})` : text;
}

export function formatMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const max = options.maxFindings ?? 200;
  const out: string[] = [];
  out.push(`## labgrader: ${markdownText(report.rubric.title)}`);
  out.push('');
  if (report.status === 'not-gradable' && report.notGradable) {
    out.push(
      `> [!WARNING]\n> **Not gradable:** ${markdownText(report.notGradable.message)}${report.notGradable.hint ? `\n> ${markdownText(report.notGradable.hint)}` : ''}`,
    );
    out.push('');
  } else {
    out.push(`**Score: ${pts(report.score.points)} / ${pts(report.score.maxPoints)} (${report.score.percent}%)**`);
    if (report.score.maxPoints < report.score.rubricMaxPoints) {
      out.push('');
      out.push(
        `_${pts(report.score.rubricMaxPoints - report.score.maxPoints)} of ${pts(report.score.rubricMaxPoints)} points were not graded; see the table._`,
      );
    }
    out.push('');
  }
  const reviews = report.findings.filter((f) => f.review !== undefined).length;
  if (reviews > 0) {
    out.push(
      `> [!NOTE]\n> ${reviews} finding${reviews === 1 ? '' : 's'} need${reviews === 1 ? 's' : ''} an instructor’s look: the grader was not sure (marked 👀 below).`,
    );
    out.push('');
  }
  out.push('| Criterion | Points | Status | Details |');
  out.push('| --- | ---: | --- | --- |');
  for (const c of report.criteria) {
    const points =
      c.status === 'skipped' || c.status === 'not-gradable'
        ? `— / ${pts(c.maxPoints)}`
        : `${pts(c.points)} / ${pts(c.maxPoints)}`;
    out.push(
      `| ${markdownText(c.title)} | ${points} | ${STATUS[c.status] ?? markdownText(c.status)} | ${c.status === 'passed' ? '' : markdownText(c.summary)} |`,
    );
  }
  out.push('');

  let listed = 0;
  const groups = report.criteria.map((c) => ({
    title: c.title,
    open: c.status === 'failed' || c.status === 'partial',
    findings: report.findings.filter((f) => f.criteria.includes(c.id)),
  }));
  // Findings a stage reports that no criterion owns (e.g. the root cause that made the cluster drills meaningless,
  // when the rubric does not grade the check that names it): shown, though they cost no points of their own.
  groups.push({
    title: 'Not part of a criterion (no points of its own)',
    open: true,
    findings: report.findings.filter((f) => f.criteria.length === 0),
  });
  for (const { title, open, findings } of groups) {
    if (findings.length === 0) continue;
    out.push(
      `<details${open ? ' open' : ''}><summary><strong>${htmlText(title)}</strong>: ${findings.length} finding${findings.length === 1 ? '' : 's'}</summary>`,
    );
    out.push('');
    const hints = new Map<string, ReportFinding>();
    for (const f of findings) {
      if (listed >= max) break;
      listed += 1;
      out.push(
        `- ${ICON[f.severity] ?? ''} ${locationLink(f, options.blobUrl)} ${markdownText(f.message)} <sub>${markdownCode(f.checkId)}</sub>`,
      );
      if (f.review !== undefined) out.push(`  - 👀 **Needs an instructor’s look:** ${markdownText(f.review)}`);
      if (f.fixHint && !hints.has(f.checkId)) hints.set(f.checkId, f);
    }
    for (const [id, f] of hints) {
      const docs = f.docsUrl ? markdownLinkDestination(f.docsUrl) : undefined;
      out.push('');
      out.push(`**How to fix ${markdownCode(id)}**${docs ? ` ([docs](${docs}))` : ''}`);
      out.push('');
      out.push(markdownHint(f.fixHint!));
    }
    out.push('');
    out.push('</details>');
    out.push('');
  }
  const evidence = conciseEvidence(report);
  if (evidence.length > 0) {
    out.push(`<details><summary><strong>Evidence</strong>: what was found and measured</summary>`);
    out.push('');
    for (const e of evidence)
      out.push(`- ${markdownCode(e.checkId)} ${markdownText(e.label)}: ${markdownText(e.detail)}`);
    out.push('');
    out.push('</details>');
    out.push('');
  }
  if (listed < report.findings.length)
    out.push(`_…and ${report.findings.length - listed} more findings; see the check run for the full list._\n`);
  const commit = report.submission.commit ? ` at ${markdownCode(report.submission.commit.slice(0, 12))}` : '';
  out.push(
    `<sub>labgrader ${markdownText(report.tool.version)} · rubric ${markdownCode(report.rubric.id)}${commit} · ${Math.round(report.durationMs / 100) / 10} s</sub>`,
  );
  return out.join('\n') + '\n';
}
