/**
 * Reading and parsing repository files once per run, through the RepoFiles
 * port (never the filesystem directly), turning every way a file can be
 * unreadable into a problem for lint/yaml-valid.
 */
import type { ReadResult, RepoFiles, SourceLocation } from '@labgrader/core';
import type { DiscoveryProblem } from './context.js';
import type { LintSettings } from './settings.js';
import { parseYamlFile, type ParsedFile } from './yaml/parse.js';
import { DocumentSource, SourceText } from './yaml/source.js';

export interface LoadedFile {
  path: string;
  source: SourceText;
  parsed: ParsedFile;
  documents: DocumentSource[];
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Does the text look like it may hold Kubernetes objects (cheap pre-filter)? */
export function mentionsKubernetes(text: string): boolean {
  return text.includes('apiVersion') && text.includes('kind');
}

/** Errors found at the end of input ("unclosed [") point at the last line with content instead. */
function clampToContent(text: string, start: number, end: number): [number, number] {
  const trimmed = text.replace(/\s+$/, '').length;
  if (start < trimmed) return [start, end];
  const lineStart = text.lastIndexOf('\n', trimmed - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0].length;
  return [lineStart + indent, trimmed];
}

/** Where lint/yaml-valid reports a YAML problem. */
export function yamlProblemLocation(source: SourceText, problem: { start: number; end: number }): SourceLocation {
  return source.location(...clampToContent(source.text, problem.start, problem.end));
}

export class FileLoader {
  private readonly loaded = new Map<string, LoadedFile | undefined>();

  constructor(
    private readonly repo: RepoFiles,
    private readonly settings: LintSettings,
    private readonly problems: DiscoveryProblem[],
  ) {}

  private problem(path: string, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.problems.push({
      checkId: 'lint/yaml-valid',
      severity,
      message,
      location: { file: path, line: 1, column: 1 },
      subject: `file ${path}`,
    });
  }

  /**
   * Reads and parses a file. `requireKubernetes`: files that do not mention
   * apiVersion and kind are skipped silently (not manifests); others report
   * every problem.
   */
  async load(path: string, options: { requireKubernetes: boolean }): Promise<LoadedFile | undefined> {
    if (this.loaded.has(path)) return this.loaded.get(path);
    const result = await this.read(path, options);
    this.loaded.set(path, result);
    return result;
  }

  /** Forgets a file's parse results once its objects hold what they need (they keep their documents). */
  release(path: string): void {
    if (this.loaded.get(path)) this.loaded.set(path, undefined);
  }

  private readonly inflight = new Map<string, Promise<ReadResult<string>>>();

  /**
   * Starts reading files that will be loaded next, so the reads overlap
   * with parsing instead of leaving the thread idle between files.
   */
  prefetch(paths: readonly string[]): void {
    for (const path of paths) {
      if (this.loaded.has(path) || this.inflight.has(path)) continue;
      const pending = this.repo.readText(path, { maxBytes: this.settings.maxFileBytes });
      pending.catch(() => {}); // awaited (and reported) by read(); never an unhandled rejection
      this.inflight.set(path, pending);
    }
  }

  private async read(path: string, options: { requireKubernetes: boolean }): Promise<LoadedFile | undefined> {
    const pending = this.inflight.get(path);
    this.inflight.delete(path);
    let read: ReadResult<string>;
    try {
      read = await (pending ?? this.repo.readText(path, { maxBytes: this.settings.maxFileBytes }));
    } catch (err) {
      this.problem(path, `${path} could not be read: ${err instanceof Error ? err.message : String(err)}`, 'warning');
      return undefined;
    }
    if (!read.ok) {
      switch (read.problem) {
        case 'too-large':
          this.problem(
            path,
            `${path} is ${formatBytes(read.size ?? 0)}, over the ${formatBytes(this.settings.maxFileBytes)} limit for a manifest; it was not read (split it, or move generated files out of the repository)`,
          );
          break;
        case 'not-utf8':
          this.problem(
            path,
            `${path} is not UTF-8 text (a binary file or another encoding); Kubernetes cannot read it as a manifest`,
          );
          break;
        case 'symlink-outside':
          this.problem(
            path,
            `${path} is a symlink pointing outside the repository; it is never read (commit the file itself)`,
            'warning',
          );
          break;
        case 'symlink-broken':
          this.problem(path, `${path} is a symlink to a file that does not exist`, 'warning');
          break;
        default:
          this.problem(path, read.message, 'warning');
      }
      return undefined;
    }
    const text = read.value;
    if (options.requireKubernetes && !mentionsKubernetes(text)) return undefined;
    if (text.includes('\u0000')) {
      this.problem(path, `${path} contains NUL bytes: it is a binary file, not a YAML manifest`);
      return undefined;
    }
    const source = new SourceText(path, text);
    const parsed = parseYamlFile(text, {
      maxAliasCount: this.settings.maxAliasCount,
      maxDepth: this.settings.maxNestingDepth,
      maxDocuments: this.settings.maxDocumentsPerFile,
    });
    const documents = parsed.documents.map(
      (doc) => new DocumentSource(source, doc.start, doc.end, doc.contentStart, doc.value, doc.positions),
    );
    for (const p of parsed.problems) this.yamlProblem(source, p);
    for (const doc of parsed.documents) for (const p of doc.problems) this.yamlProblem(source, p);
    return { path, source, parsed, documents };
  }

  private yamlProblem(
    source: SourceText,
    p: { code: string; message: string; start: number; end: number; level: 'error' | 'warning' },
  ): void {
    const hint =
      p.code === 'DUPLICATE_KEY'
        ? ' (kubectl rejects duplicate fields; keep one)'
        : p.code === 'TAB_AS_INDENT'
          ? ' (indent with spaces, not tabs)'
          : '';
    this.problems.push({
      checkId: 'lint/yaml-valid',
      severity: p.code === 'DUPLICATE_KEY' ? 'error' : p.level,
      message: `${source.file}: ${p.message.replace(/\.$/, '')}${hint}`,
      location: yamlProblemLocation(source, p),
      subject: `file ${source.file}`,
    });
  }
}
