/**
 * Helm charts: `helm template` output carries `# Source: <chart>/templates/x.yaml`
 * before each document. Templates are not YAML (they are Go templates), so a
 * rendered field is placed on the template line that writes its key, found
 * by a textual search after the template's `kind:` line; failing that, the
 * `kind:` line itself.
 */
import type { SourceLocation } from '@labgrader/core';
import type { Path } from '../yaml/parse.js';

/** Maps `mychart/templates/x.yaml` (as helm prints it) to the repository path under the chart directory. */
export function templatePath(chartDir: string, sourceComment: string): string {
  const rest = sourceComment.includes('/') ? sourceComment.slice(sourceComment.indexOf('/') + 1) : sourceComment;
  return chartDir ? `${chartDir}/${rest}` : rest;
}

export function sourceComment(documentText: string): string | undefined {
  const match = /^# Source: (.+)$/m.exec(documentText);
  return match?.[1]?.trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A locator for objects rendered from one template file. */
export function templateLocator(file: string, text: string | undefined, kind: string): (path: Path) => SourceLocation {
  const lines = text?.split('\n') ?? [];
  const kindLine = Math.max(
    0,
    lines.findIndex((l) => new RegExp(`^\\s*kind:\\s*["']?${escapeRegExp(kind)}["']?\\s*$`).test(l)),
  );
  return (path) => {
    for (let i = path.length - 1; i >= 0; i--) {
      const key = path[i];
      if (typeof key !== 'string') continue;
      const pattern = new RegExp(`^(\\s*-?\\s*)${escapeRegExp(key)}:`);
      for (let line = kindLine; line < lines.length; line++) {
        const match = pattern.exec(lines[line]!);
        if (match) return { file, line: line + 1, column: match[1]!.length + 1 };
      }
    }
    return { file, line: kindLine + 1, column: 1 };
  };
}
