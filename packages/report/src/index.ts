import type { CheckMeta, Report } from '@labgrader/core';
import { formatMarkdown, type MarkdownOptions } from './markdown.js';
import { formatSarif } from './sarif.js';
import { formatText } from './text.js';
import type { Format } from './formats.js';

export { formatMarkdown, type MarkdownOptions } from './markdown.js';
export { htmlText, markdownCode, markdownHint, markdownLinkDestination, markdownText } from './markdown-escape.js';
export { formatSarif, type SarifOptions } from './sarif.js';
export { formatText, type TextOptions } from './text.js';

export { FORMATS, type Format } from './formats.js';

export interface RenderOptions extends MarkdownOptions {
  color?: boolean;
  /** Text only: findings without score and criteria (linter-style). */
  findingsOnly?: boolean;
  rules?: readonly CheckMeta[];
}

/** Renders a report in one of the supported formats, as the text to print or write. */
export function renderReport(report: Report, format: Format, options: RenderOptions = {}): string {
  switch (format) {
    case 'text':
      return formatText(report, { color: options.color ?? false, findingsOnly: options.findingsOnly ?? false });
    case 'markdown':
      return formatMarkdown(report, options);
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(formatSarif(report, options.rules ? { rules: options.rules } : {}), null, 2) + '\n';
  }
}
