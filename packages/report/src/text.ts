/**
 * The terminal report a student reads: score, criteria with points, findings
 * grouped by file with `file:line:col`, then how to fix each kind of problem.
 * Colour only when asked (the CLI enables it for TTYs, honouring NO_COLOR).
 *
 * Every string from the report is passed through `shown` (toDisplayText)
 * before it is padded or coloured: escape the data, then colour, so the only
 * escape sequences in the output are the SGR colours picocolors adds. Fix
 * hints keep their lines, each indented; every other field is one line.
 */
import { createColors } from 'picocolors';
import { toDisplayText, type CriterionResult, type Report, type ReportFinding, type Severity } from '@labgrader/core';

export interface TextOptions {
  color?: boolean;
  /** Linter-style output (`labgrader lint`): findings and hints only, no score or criteria. */
  findingsOnly?: boolean;
}

type Colors = ReturnType<typeof createColors>;

const STATUS_MARK: Record<CriterionResult['status'], string> = {
  passed: '✔',
  partial: '◐',
  failed: '✘',
  skipped: '–',
  'not-gradable': '?',
};

/** A report string as it may reach the terminal: one line, controls and bidi/invisible characters made visible. */
function shown(text: string): string {
  return toDisplayText(text);
}

function pts(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0$/, '');
}

function severityLabel(c: Colors, s: Severity): string {
  if (s === 'error') return c.red('error  ');
  if (s === 'warning') return c.yellow('warning');
  return c.blue('info   ');
}

function statusColor(c: Colors, status: CriterionResult['status']): (s: string) => string {
  switch (status) {
    case 'passed':
      return c.green;
    case 'partial':
      return c.yellow;
    case 'failed':
      return c.red;
    default:
      return c.dim;
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l ? prefix + l : l))
    .join('\n');
}

export function formatText(report: Report, options: TextOptions = {}): string {
  const c = createColors(options.color ?? false);
  const out: string[] = [];
  const sub = report.submission;
  const commit = sub.commit ? ` @ ${shown(sub.commit.slice(0, 12))}${sub.dirty ? ' (uncommitted changes)' : ''}` : '';
  out.push(
    `${c.bold('labgrader')} · ${
      options.findingsOnly
        ? report.stages
            .filter((st) => st.status === 'ok' && st.name !== 'fetch' && st.name !== 'score')
            .map((st) => st.name)
            .join(', ') || 'checks'
        : shown(report.rubric.title)
    }`,
  );
  const who = sub.author
    ? ` · ${shown(sub.author)}${sub.submittedAt ? `, ${shown(sub.submittedAt.slice(0, 16).replace('T', ' '))} UTC` : ''}`
    : '';
  out.push(c.dim(`${shown(sub.repository)}${commit}${sub.ref ? ` · ${shown(sub.ref)}` : ''}${who}`));
  out.push('');

  if (report.status === 'not-gradable' && report.notGradable) {
    out.push(`${c.bold(c.magenta('NOT GRADABLE'))}  ${shown(report.notGradable.message)}`);
    if (report.notGradable.hint) out.push(`  ${c.dim('→')} ${shown(report.notGradable.hint)}`);
    out.push(c.dim('  This is not a grade: nothing was scored for the parts that could not be checked.'));
    out.push('');
  } else if (!options.findingsOnly) {
    const { points, maxPoints, percent, rubricMaxPoints } = report.score;
    const colour = percent >= 80 ? c.green : percent >= 50 ? c.yellow : c.red;
    out.push(`${c.bold('Score')}  ${colour(c.bold(`${pts(points)} / ${pts(maxPoints)}`))}  (${percent}%)`);
    if (maxPoints < rubricMaxPoints)
      out.push(
        c.dim(
          `  ${pts(rubricMaxPoints - maxPoints)} of the rubric's ${pts(rubricMaxPoints)} points were not graded (see below)`,
        ),
      );
    out.push('');
  }

  if (!options.findingsOnly) out.push(...criteriaLines(report, c), ...evidenceLines(report, c));

  out.push(...findingLines(report, c));
  out.push('');
  const stages = report.stages
    .map((s) => `${s.name} ${s.status === 'ok' ? '' : `${s.status} `}${Math.round(s.durationMs)}ms`)
    .join(' · ');
  out.push(c.dim(`stages: ${stages} · total ${Math.round(report.durationMs)}ms · rubric ${shown(report.rubric.id)}`));
  return out.join('\n') + '\n';
}

function criteriaLines(report: Report, c: Colors): string[] {
  const out: string[] = [];
  const titles = report.criteria.map((x) => shown(x.title));
  const titleWidth = Math.min(48, Math.max(...titles.map((t) => t.length), 10));
  for (const [i, crit] of report.criteria.entries()) {
    const color = statusColor(c, crit.status);
    const score =
      crit.status === 'skipped' || crit.status === 'not-gradable'
        ? c.dim(`— / ${pts(crit.maxPoints)}`)
        : color(`${pts(crit.points)} / ${pts(crit.maxPoints)}`);
    out.push(`  ${color(STATUS_MARK[crit.status])} ${titles[i]!.padEnd(titleWidth)}  ${score}`);
    if (crit.status !== 'passed') out.push(c.dim(`      ${shown(crit.summary)}`));
  }
  out.push('');
  return out;
}

/** Short, one-line evidence (what was found or measured); multi-line logs stay in the JSON report. */
export function conciseEvidence(report: Report): Report['evidence'] {
  return report.evidence.filter((e) => !e.detail.includes('\n'));
}

function evidenceLines(report: Report, c: Colors): string[] {
  const evidence = conciseEvidence(report);
  if (evidence.length === 0) return [];
  const out = [c.bold('Evidence')];
  for (const e of evidence) {
    const where = e.location ? c.dim(` (${shown(e.location.file)}:${e.location.line})`) : '';
    out.push(`  ${c.dim(shown(e.checkId))} ${shown(e.label)}: ${shown(e.detail)}${where}`);
  }
  out.push('');
  return out;
}

function findingLines(report: Report, c: Colors): string[] {
  const out: string[] = [];
  const findings = report.findings;
  if (findings.length === 0) {
    out.push(c.green('No findings.'));
  } else {
    const counts = (['error', 'warning', 'info'] as const)
      .map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}${n === 1 ? '' : 's'}`)
      .join(', ');
    const reviews = findings.filter((f) => f.review !== undefined).length;
    out.push(
      c.bold(`Findings (${counts})`) +
        (reviews > 0 ? c.magenta(`  ${reviews} need${reviews === 1 ? 's' : ''} an instructor’s look`) : ''),
    );
    const byFile = new Map<string, ReportFinding[]>();
    for (const f of findings) {
      const key = f.location?.file ?? '(repository)';
      byFile.set(key, [...(byFile.get(key) ?? []), f]);
    }
    for (const [file, list] of byFile) {
      out.push('');
      out.push(`  ${c.underline(shown(file))}`);
      for (const f of list) {
        const where = f.location ? `${shown(f.location.file)}:${f.location.line}:${f.location.column}` : shown(file);
        out.push(
          `    ${c.cyan(where)}  ${severityLabel(c, f.severity)}  ${shown(f.message)}  ${c.dim(`[${shown(f.checkId)}]`)}`,
        );
        if (f.review !== undefined) out.push(`      ${c.magenta('needs an instructor’s look:')} ${shown(f.review)}`);
      }
    }
    const hints = new Map<string, ReportFinding>();
    for (const f of findings) if (f.fixHint && !hints.has(f.checkId)) hints.set(f.checkId, f);
    if (hints.size > 0) {
      out.push('');
      out.push(c.bold('How to fix'));
      for (const [id, f] of hints) {
        out.push('');
        out.push(`  ${c.bold(shown(id))}${f.docsUrl ? c.dim(`  ${shown(f.docsUrl)}`) : ''}`);
        out.push(indent(toDisplayText(f.fixHint!, { multiline: true }), '    '));
      }
    }
  }
  return out;
}
