/**
 * Markdown for a pull-request comment or a job summary: the score, a table of
 * criteria, then the findings per criterion with links to the exact lines
 * when a `blobUrl` (e.g. https://github.com/o/r/blob/<sha>) is given.
 */
import type { Report, ReportFinding } from '@labgrader/core';

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

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function escapeInline(text: string): string {
  return text.replace(/([\\`*_[\]<>])/g, '\\$1');
}

function pts(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0$/, '');
}

function link(f: ReportFinding, blobUrl: string | undefined): string {
  if (!f.location) return '';
  const text = `${f.location.file}:${f.location.line}`;
  if (!blobUrl) return `\`${text}\``;
  const path = f.location.file.split('/').map(encodeURIComponent).join('/');
  return `[\`${text}\`](${blobUrl.replace(/\/$/, '')}/${path}#L${f.location.line})`;
}

export function formatMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const max = options.maxFindings ?? 200;
  const out: string[] = [];
  out.push(`## labgrader: ${escapeInline(report.rubric.title)}`);
  out.push('');
  if (report.status === 'not-gradable' && report.notGradable) {
    out.push(
      `> [!WARNING]\n> **Not gradable:** ${escapeInline(report.notGradable.message)}${report.notGradable.hint ? `\n> ${escapeInline(report.notGradable.hint)}` : ''}`,
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
  out.push('| Criterion | Points | Status | Details |');
  out.push('| --- | ---: | --- | --- |');
  for (const c of report.criteria) {
    const points =
      c.status === 'skipped' || c.status === 'not-gradable'
        ? `— / ${pts(c.maxPoints)}`
        : `${pts(c.points)} / ${pts(c.maxPoints)}`;
    out.push(
      `| ${escapeCell(c.title)} | ${points} | ${STATUS[c.status] ?? c.status} | ${escapeCell(c.status === 'passed' ? '' : c.summary)} |`,
    );
  }
  out.push('');

  let listed = 0;
  for (const c of report.criteria) {
    const findings = report.findings.filter((f) => f.criteria.includes(c.id));
    if (findings.length === 0) continue;
    out.push(
      `<details${c.status === 'failed' || c.status === 'partial' ? ' open' : ''}><summary><strong>${escapeInline(c.title)}</strong>: ${findings.length} finding${findings.length === 1 ? '' : 's'}</summary>`,
    );
    out.push('');
    const hints = new Map<string, ReportFinding>();
    for (const f of findings) {
      if (listed >= max) break;
      listed += 1;
      out.push(
        `- ${ICON[f.severity] ?? ''} ${link(f, options.blobUrl)} ${escapeInline(f.message)} <sub>\`${f.checkId}\`</sub>`,
      );
      if (f.fixHint && !hints.has(f.checkId)) hints.set(f.checkId, f);
    }
    for (const [id, f] of hints) {
      out.push('');
      out.push(`**How to fix \`${id}\`**${f.docsUrl ? ` ([docs](${f.docsUrl}))` : ''}`);
      out.push('');
      out.push(f.fixHint!);
    }
    out.push('');
    out.push('</details>');
    out.push('');
  }
  const evidence = report.evidence.filter((e) => !e.detail.includes('\n'));
  if (evidence.length > 0) {
    out.push(`<details><summary><strong>Evidence</strong>: what was found and measured</summary>`);
    out.push('');
    for (const e of evidence) out.push(`- \`${e.checkId}\` ${escapeInline(e.label)}: ${escapeInline(e.detail)}`);
    out.push('');
    out.push('</details>');
    out.push('');
  }
  if (listed < report.findings.length)
    out.push(`_…and ${report.findings.length - listed} more findings; see the check run for the full list._\n`);
  const commit = report.submission.commit ? ` at \`${report.submission.commit.slice(0, 12)}\`` : '';
  out.push(
    `<sub>labgrader ${report.tool.version} · rubric \`${report.rubric.id}\`${commit} · ${Math.round(report.durationMs / 100) / 10} s</sub>`,
  );
  return out.join('\n') + '\n';
}
