/**
 * SARIF 2.1.0, for GitHub code scanning and any SARIF viewer. Rules come from
 * the check catalog (id, title, rationale, fix hint, docs link); results carry
 * the finding's exact region relative to %SRCROOT%.
 *
 * Text fields carry the exact strings (JSON escaping is the boundary; SARIF
 * viewers show them as text). The one Markdown field, `help.markdown`, which
 * GitHub code scanning renders, is built with the Markdown report's escaper.
 */
import type { Log, ReportingDescriptor, Result } from 'sarif';
import type { CheckMeta, Report, Severity } from '@labgrader/core';
import { markdownHint } from './markdown-escape.js';
import { encodeRepositoryPath, httpLinkUri, repositoryUri } from './uri.js';

export interface SarifOptions {
  /** Metadata of every check that may appear (normally the whole catalog). */
  rules?: readonly CheckMeta[];
}

const LEVEL: Record<Severity, Result.level> = { error: 'error', warning: 'warning', info: 'note' };

function ruleName(id: string): string {
  return id
    .split(/[/-]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export function formatSarif(report: Report, options: SarifOptions = {}): Log {
  const used = new Set(report.findings.map((f) => f.checkId));
  const metas = new Map<string, CheckMeta>();
  for (const meta of options.rules ?? []) if (used.has(meta.id)) metas.set(meta.id, meta);

  const rules: ReportingDescriptor[] = [];
  const index = new Map<string, number>();
  for (const id of [...used].sort()) {
    const meta = metas.get(id);
    const sample = report.findings.find((f) => f.checkId === id);
    const rule: ReportingDescriptor = { id, name: ruleName(id), shortDescription: { text: meta?.title ?? id } };
    if (meta?.rationale) rule.fullDescription = { text: meta.rationale };
    const hint = meta?.fixHint ?? sample?.fixHint;
    if (hint) rule.help = { text: hint, markdown: markdownHint(hint) };
    const docs = meta?.docsUrl ?? sample?.docsUrl;
    const helpUri = docs ? httpLinkUri(docs) : undefined;
    if (helpUri) rule.helpUri = helpUri;
    rule.defaultConfiguration = { level: LEVEL[meta?.severity ?? sample?.severity ?? 'warning'] };
    index.set(id, rules.length);
    rules.push(rule);
  }

  const results: Result[] = report.findings.map((f) => {
    const result: Result = {
      ruleId: f.checkId,
      ruleIndex: index.get(f.checkId)!,
      level: LEVEL[f.severity],
      message: { text: f.message },
      properties: { criteria: f.criteria, ...(f.subject ? { subject: f.subject } : {}) },
    };
    if (f.location) {
      const region: NonNullable<NonNullable<Result['locations']>[number]['physicalLocation']>['region'] = {
        startLine: f.location.line,
        startColumn: f.location.column,
      };
      if (f.location.endLine !== undefined) region.endLine = f.location.endLine;
      if (f.location.endColumn !== undefined) region.endColumn = f.location.endColumn;
      result.locations = [
        {
          physicalLocation: {
            artifactLocation: { uri: encodeRepositoryPath(f.location.file), uriBaseId: 'SRCROOT' },
            region,
          },
        },
      ];
    }
    return result;
  });

  const run: Log['runs'][number] = {
    tool: {
      driver: {
        name: 'labgrader',
        version: report.tool.version,
        semanticVersion: report.tool.version,
        informationUri: 'https://github.com/labgrader/labgrader',
        rules,
      },
    },
    originalUriBaseIds: { SRCROOT: { description: { text: 'The root of the graded repository.' } } },
    invocations: [
      {
        executionSuccessful: report.status === 'graded',
        startTimeUtc: report.startedAt,
        endTimeUtc: report.finishedAt,
        ...(report.notGradable
          ? { toolExecutionNotifications: [{ level: 'error' as const, message: { text: report.notGradable.message } }] }
          : {}),
      },
    ],
    results,
    properties: {
      rubric: report.rubric.id,
      score: report.score,
      criteria: report.criteria.map((c) => ({ id: c.id, points: c.points, maxPoints: c.maxPoints, status: c.status })),
    },
  };
  const provenanceUri = repositoryUri(report.submission.repository);
  if (report.submission.commit && provenanceUri) {
    run.versionControlProvenance = [
      {
        repositoryUri: provenanceUri,
        revisionId: report.submission.commit,
        ...(report.submission.ref ? { branch: report.submission.ref } : {}),
        mappedTo: { uriBaseId: 'SRCROOT' },
      },
    ];
  }
  return { version: '2.1.0', $schema: 'https://json.schemastore.org/sarif-2.1.0.json', runs: [run] };
}
