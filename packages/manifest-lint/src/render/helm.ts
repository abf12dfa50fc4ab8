/**
 * Helm charts: `helm template` output carries `# Source: <chart>/templates/x.yaml`
 * before each document. Templates are not YAML (they are Go templates), so a
 * rendered field is placed on the template line that writes its key, found
 * by a textual search after the template's `kind:` line; failing that, the
 * `kind:` line itself.
 */
import type { SourceLocation } from '@labgrader/core';
import type { LoadedFile } from '../files.js';
import { asArray, asString, isRecord } from '../model/object.js';
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

export interface ChartDependency {
  name: string;
  repository?: string;
  /** The dependency's entry in Chart.yaml. */
  location: SourceLocation;
}

/**
 * Names of the charts vendored under `<chart>/charts/`, as helm matches
 * dependencies: an unpacked chart directory (its Chart.yaml `name`, read with
 * `nameOf`, or the directory name) or an archive named like `helm dependency
 * build` names it (`<name>-<version>.tgz`).
 */
export async function vendoredCharts(
  paths: readonly string[],
  chartDir: string,
  nameOf: (chartYaml: string) => Promise<string | undefined>,
): Promise<(name: string) => boolean> {
  const prefix = chartDir ? `${chartDir}/charts/` : 'charts/';
  const names = new Set<string>();
  const archives: string[] = [];
  for (const p of paths) {
    if (!p.startsWith(prefix)) continue;
    const rest = p.slice(prefix.length);
    if (/^[^/]+\/Chart\.yaml$/.test(rest)) {
      names.add(rest.slice(0, rest.indexOf('/')));
      const name = await nameOf(p);
      if (name) names.add(name);
    } else if (/^[^/]+\.tgz$/.test(rest)) archives.push(rest);
  }
  return (name) => names.has(name) || archives.some((a) => a.startsWith(`${name}-`));
}

/** Dependencies listed in Chart.yaml that are not vendored (`helm template` would need `helm dependency build`, which downloads). */
export function missingDependencies(chart: LoadedFile, isVendored: (name: string) => boolean): ChartDependency[] {
  const doc = chart.documents[0];
  const value = chart.parsed.documents[0]?.value;
  if (!doc || !isRecord(value)) return [];
  const out: ChartDependency[] = [];
  asArray(value.dependencies).forEach((dependency, i) => {
    if (!isRecord(dependency)) return;
    const name = asString(dependency.name);
    if (!name || isVendored(name)) return;
    const repository = asString(dependency.repository);
    out.push({
      name,
      ...(repository ? { repository } : {}),
      location: doc.locationOf(doc.walk(['dependencies', i]), 'value'),
    });
  });
  return out;
}
