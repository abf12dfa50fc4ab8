/**
 * Discovery: which files hold Kubernetes objects, and the objects
 * themselves. Plain manifests are parsed directly; kustomizations are
 * rendered with `kubectl kustomize` (their resource files are linted through
 * the rendering, mapped back to their lines); Helm charts are rendered with
 * `helm template` when helm is available. Everything that goes wrong is a
 * problem for lint/yaml-valid or lint/render, never an exception.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import {
  normalizeRepoPath,
  silentLogger,
  throwIfAborted,
  type CommandRunner,
  type Logger,
  type RepoEntry,
  type RepoFiles,
  type SourceLocation,
} from '@labgrader/core';
import type { DiscoveryProblem } from './context.js';
import { FileLoader, type LoadedFile } from './files.js';
import { isRecord, type KubeObject, type ObjectOrigin } from './model/object.js';
import { objectsOfDocument, objectsOfFile } from './objects.js';
import { missingDependencies, sourceComment, templateLocator, templatePath, vendoredCharts } from './render/helm.js';
import {
  KUSTOMIZATION_NAMES,
  addToPool,
  baseName,
  dirOf,
  reachable,
  readKustomization,
  sourcesFor,
  type Kustomization,
  type ResolvePath,
  type SourcePool,
} from './render/kustomize.js';
import { runTool } from './render/run.js';
import { installHint, type Env } from './render/tools.js';
import { networkIsolationFor, type NetworkIsolation } from './render/sandbox.js';
import type { LintSettings } from './settings.js';
import { parseYamlFile } from './yaml/parse.js';
import { DocumentSource, SourceText } from './yaml/source.js';

export interface DiscoverOptions {
  repo: RepoFiles;
  settings: LintSettings;
  runner?: CommandRunner;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /** Debug logs (how renderers are sandboxed). */
  logger?: Logger;
  /**
   * Where helm and kubectl are looked for (LABGRADER_HELM, LABGRADER_KUBECTL,
   * PATH's `helm`/`kubectl`, LABGRADER_CACHE_DIR or HOME for
   * ~/.cache/labgrader/bin). Default: process.env, read at each call.
   */
  env?: Env;
}

export interface Discovery {
  objects: KubeObject[];
  problems: DiscoveryProblem[];
  /** Files read as manifests (directly or through a renderer). */
  examinedFiles: string[];
  /** Kustomization directories and chart directories found. */
  renderTargets: string[];
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

function start(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}

export async function discoverObjects(options: DiscoverOptions): Promise<Discovery> {
  const { repo, settings, runner, signal } = options;
  const env = options.env ?? process.env;
  const progress = options.progress ?? (() => {});
  // Probed only when something is rendered (once per runner).
  const network = (): Promise<NetworkIsolation> => networkIsolationFor(runner!, options.logger ?? silentLogger);
  const problems: DiscoveryProblem[] = [];
  const loader = new FileLoader(repo, settings, problems);
  const isIncluded = picomatch(settings.include, { dot: true });
  const isExcluded = picomatch([...settings.exclude, ...settings.extraExclude], { dot: true });

  throwIfAborted(signal);
  const entries = await repo.list();
  const kinds = new Map<string, RepoEntry['kind'] | 'dir'>();
  for (const entry of entries) {
    kinds.set(entry.path, entry.kind);
    for (let dir = dirOf(entry.path); dir && !kinds.has(dir); dir = dirOf(dir)) kinds.set(dir, 'dir');
  }
  kinds.set('', 'dir');
  const linkTargets = new Map(entries.filter((e) => e.kind === 'symlink').map((e) => [e.path, e.linkTarget]));
  const resolve = resolverOf(kinds, linkTargets);
  const exists = (p: string): 'file' | 'dir' | undefined => resolve(p)?.type;
  const considered = entries.filter((e) => !isExcluded(e.path));

  // Helm charts: every file below a Chart.yaml belongs to the chart (templates are not YAML).
  const chartDirs = considered
    .filter((e) => baseName(e.path) === 'Chart.yaml')
    .map((e) => dirOf(e.path))
    .sort((a, b) => a.length - b.length);
  const inChart = (p: string) => chartDirs.some((dir) => dir === '' || p === dir || p.startsWith(`${dir}/`));
  const topCharts = chartDirs.filter(
    (dir) => !chartDirs.some((other) => other !== dir && (other === '' || dir.startsWith(`${other}/`))),
  );

  // Kustomizations.
  const kustomizationFiles = considered.filter(
    (e) => KUSTOMIZATION_NAMES.includes(baseName(e.path)) && !inChart(e.path),
  );
  const kustomizations: Kustomization[] = [];
  for (const entry of kustomizationFiles) {
    const loaded = await loader.load(entry.path, { requireKubernetes: false });
    if (loaded) kustomizations.push(readKustomization(loaded, resolve));
  }
  const byDir = new Map(kustomizations.map((k) => [k.dir, k]));
  // kustomize reads every kustomization a tree names, excluded or inside a chart or not: read (and check) them too.
  const unreadable = new Map<string, string>();
  for (let i = 0; i < kustomizations.length; i++) {
    for (const child of kustomizations[i]!.childDirs) {
      if (byDir.has(child) || unreadable.has(child)) continue;
      const candidates = KUSTOMIZATION_NAMES.map((name) => (child ? `${child}/${name}` : name));
      const file = candidates.find((f) => exists(f) === 'file');
      // None: kustomize fails on the directory (a symlink out of the repository there is refused below).
      if (!file) continue;
      const loaded = await loader.load(file, { requireKubernetes: false });
      if (!loaded) {
        unreadable.set(child, file);
        continue;
      }
      const k = readKustomization(loaded, resolve);
      kustomizations.push(k);
      byDir.set(child, k);
    }
  }
  const referenced = new Set(kustomizations.flatMap((k) => k.childDirs));
  const roots =
    settings.render.kustomizations.length > 0
      ? kustomizations.filter((k) => settings.render.kustomizations.some((d) => d.replace(/\/+$/, '') === k.dir))
      : kustomizations.filter((k) => !referenced.has(k.dir));

  const objects: KubeObject[] = [];
  const examined = new Set<string>();
  /** Files whose objects come through a successful rendering. */
  const consumed = new Set<string>([...kustomizationFiles.map((e) => e.path), ...kustomizations.map((k) => k.file)]);
  /** Patch files and generator inputs: never objects on their own. */
  const neverDirect = new Set<string>();
  for (const k of kustomizations) {
    for (const f of [...k.patchFiles, ...k.inputFiles]) neverDirect.add(f);
    for (const refusal of k.refused) {
      problems.push({
        checkId: 'lint/render',
        severity: 'error',
        message: refusal.message,
        location: refusal.location,
        subject: `kustomization ${k.dir || '.'}`,
      });
    }
    for (const ref of k.broken) {
      problems.push({
        checkId: 'lint/render',
        severity: 'error',
        message: `${k.file} lists ${ref.field} entry "${ref.entry}", which does not exist in the repository (or is outside it)`,
        location: ref.location,
        subject: `kustomization ${k.dir || '.'}`,
      });
    }
  }

  /** Directories of kustomizations whose tree rendered: kustomize decides what is deployed from there. */
  const renderedDirs = new Set<string>();
  for (const root of roots) {
    throwIfAborted(signal);
    const tree = reachable(root, byDir);
    const subject = `kustomization ${root.dir || '.'}`;
    // kustomize reads files only below the kustomization directories of the tree (its load restrictor).
    const treeDirs = [...tree.map((k) => k.dir), ...tree.flatMap((k) => k.childDirs)];
    const outsideLinks = entries.filter(
      (e) => e.kind === 'symlink-outside' && treeDirs.some((dir) => dir === '' || e.path.startsWith(`${dir}/`)),
    );
    const unchecked = tree.flatMap((k) => k.childDirs.filter((d) => unreadable.has(d))).map((d) => unreadable.get(d)!);
    // Refused entries and missing files are already reported at their lines, once per kustomization file.
    const alreadyReported = tree.some((k) => k.refused.length > 0 || k.broken.length > 0);
    let refusal: { message: string; location: SourceLocation } | undefined;
    if (unchecked.length > 0) {
      refusal = {
        message: `${unchecked[0]} could not be read (see lint/yaml-valid), so labgrader cannot check what kustomize would load from it; kustomization ${root.dir || '.'} was not rendered`,
        location: start(unchecked[0]!),
      };
    } else if (outsideLinks.length > 0) {
      refusal = {
        message: `${root.file} was not rendered: ${outsideLinks[0]!.path} is a symlink pointing outside the repository`,
        location: start(root.file),
      };
    }
    let rendered = false;
    if (refusal) {
      problems.push({ checkId: 'lint/render', severity: 'error', ...refusal, subject });
    } else if (alreadyReported) {
      // Nothing is rendered for a tree with a refused or missing entry; kustomize would stop at the first anyway.
    } else if (settings.render.kustomize && runner) {
      progress(`rendering kustomization ${root.dir || '.'}`);
      const outcome = await runTool(runner, 'kubectl', ['kustomize', path.join(repo.root, root.dir)], {
        root: repo.root,
        timeoutMs: settings.render.timeoutSeconds * 1000,
        ...(signal ? { signal } : {}),
        network: await network(),
        env,
      });
      if (outcome.ok) {
        rendered = true;
        for (const k of tree) renderedDirs.add(k.dir);
        objects.push(...(await mapKustomizeOutput(outcome.stdout, root, tree, loader, settings, problems)));
        for (const k of tree) {
          examined.add(k.file);
          for (const f of k.resourceFiles) {
            consumed.add(f);
            examined.add(f);
          }
        }
      } else {
        const missing = outcome.reason === 'missing-tool';
        problems.push({
          checkId: 'lint/render',
          severity: missing ? 'warning' : 'error',
          message: missing
            ? `kustomization ${root.dir || '.'} was not rendered: kubectl is not installed here (looked for ${outcome.searched}), so its resource files were linted as written. ${installHint('kubectl')}`
            : `kubectl kustomize ${root.dir || '.'} failed: ${outcome.message}`,
          location: start(root.file),
          subject,
          ...(missing ? { installHint: installHint('kubectl') } : {}),
        });
      }
    } else if (settings.render.kustomize && !runner) {
      problems.push({
        checkId: 'lint/render',
        severity: 'warning',
        message: `kustomization ${root.dir || '.'} was not rendered (no command runner); its resource files were linted as written`,
        location: start(root.file),
        subject,
      });
    }
    if (!rendered) {
      // Lint the resources as written so the student still gets feedback.
      for (const k of tree) for (const f of k.resourceFiles) consumed.delete(f);
    }
  }
  // Resources of kustomizations that are not reachable from a rendered root stay plain files.

  // Helm charts.
  for (const chartDir of topCharts) {
    throwIfAborted(signal);
    const subject = `chart ${chartDir || '.'}`;
    const chartFile = chartDir ? `${chartDir}/Chart.yaml` : 'Chart.yaml';
    if (!settings.render.helm) continue;
    if (!runner) {
      problems.push({
        checkId: 'lint/render',
        severity: 'warning',
        message: `Helm chart ${chartDir || '.'} was not rendered (no command runner)`,
        location: start(chartFile),
        subject,
      });
      continue;
    }
    if (entries.some((e) => e.kind === 'symlink-outside' && (chartDir === '' || e.path.startsWith(`${chartDir}/`)))) {
      problems.push({
        checkId: 'lint/render',
        severity: 'error',
        message: `Helm chart ${chartDir || '.'} was not rendered: it contains a symlink pointing outside the repository`,
        location: start(chartFile),
        subject,
      });
      continue;
    }
    const chart = await loader.load(chartFile, { requireKubernetes: false });
    const isVendored = await vendoredCharts(
      entries.map((e) => e.path),
      chartDir,
      async (file) => {
        const value = (await loader.load(file, { requireKubernetes: false }))?.parsed.documents[0]?.value;
        return isRecord(value) && typeof value.name === 'string' ? value.name : undefined;
      },
    );
    const missing = chart ? missingDependencies(chart, isVendored) : [];
    if (missing.length > 0) {
      for (const dependency of missing) {
        problems.push({
          checkId: 'lint/render',
          severity: 'error',
          message: `${chartFile} depends on the chart "${dependency.name}"${dependency.repository ? ` from ${dependency.repository}` : ''}, which is not in ${chartDir ? `${chartDir}/` : ''}charts/: labgrader renders only what is committed and never downloads charts, so run \`helm dependency build\` and commit charts/, or remove the dependency`,
          location: dependency.location,
          subject,
        });
      }
      continue;
    }
    progress(`rendering Helm chart ${chartDir || '.'}`);
    const outcome = await runTool(
      runner,
      'helm',
      [
        'template',
        settings.render.helmReleaseName,
        path.join(repo.root, chartDir),
        // values.schema.json may $ref http:// or file:// URLs, which helm would fetch or read off the host.
        '--skip-schema-validation',
        // The version the manifests are validated against, for `kubeVersion:` and .Capabilities
        // (helm's own default depends on how the binary was built: v1.20 for `go install`).
        '--kube-version',
        `v${settings.kubernetesVersion}.0`,
      ],
      {
        root: repo.root,
        timeoutMs: settings.render.timeoutSeconds * 1000,
        ...(signal ? { signal } : {}),
        network: await network(),
        env,
      },
    );
    if (!outcome.ok) {
      const missing = outcome.reason === 'missing-tool';
      problems.push({
        checkId: 'lint/render',
        severity: missing ? 'warning' : 'error',
        message: missing
          ? `Helm chart ${chartDir || '.'} was not rendered: helm is not installed here (looked for ${outcome.searched}), so its templates were not linted. ${installHint('helm')}`
          : `helm template ${chartDir || '.'} failed: ${outcome.message}`,
        location: start(chartFile),
        subject,
        ...(missing ? { installHint: installHint('helm') } : {}),
      });
      continue;
    }
    examined.add(chartFile);
    objects.push(...(await mapHelmOutput(outcome.stdout, chartDir, repo, loader, settings, problems, examined)));
  }

  // Plain manifest files.
  const candidates = considered.filter(
    (entry) =>
      isIncluded(entry.path) &&
      MANIFEST_EXT.test(entry.path) &&
      !consumed.has(entry.path) &&
      !neverDirect.has(entry.path) &&
      !inChart(entry.path),
  );
  // A manifest below a rendered kustomization (its nearest kustomization directory) that no
  // kustomization lists is not deployed by `kubectl apply -k`: say so instead of linting it.
  const plain: RepoEntry[] = [];
  const scratch = new FileLoader(repo, settings, []);
  for (const entry of candidates) {
    const governor = governingKustomization(entry.path, byDir);
    if (!governor || !renderedDirs.has(governor.dir)) {
      plain.push(entry);
      continue;
    }
    throwIfAborted(signal);
    const loaded = await scratch.load(entry.path, { requireKubernetes: true });
    scratch.release(entry.path);
    if (!loaded) continue;
    const found = objectsOfFile(loaded, settings.ignoreApiGroups);
    if (found.length === 0 && !loaded.parsed.documents.some((d) => d.problems.length > 0)) continue;
    problems.push(ignoredByKustomization(entry.path, governor, found));
  }
  if (plain.length > settings.maxFiles) {
    problems.push({
      checkId: 'lint/yaml-valid',
      severity: 'warning',
      message: `more than ${settings.maxFiles} manifest files; the rest were not read`,
      location: start(plain[settings.maxFiles]!.path),
      subject: 'repository',
    });
    plain.length = settings.maxFiles;
  }
  const PREFETCH = 8;
  for (let i = 0; i < plain.length; i++) {
    const entry = plain[i]!;
    if (i % 16 === 0) throwIfAborted(signal);
    loader.prefetch(plain.slice(i + 1, i + 1 + PREFETCH).map((e) => e.path));
    const loaded = await loader.load(entry.path, { requireKubernetes: true });
    if (!loaded) continue;
    const found = objectsOfFile(loaded, settings.ignoreApiGroups, plainBuild(loaded, byDir));
    if (found.length > 0 || loaded.parsed.documents.some((d) => d.problems.length > 0)) examined.add(entry.path);
    objects.push(...found);
    loader.release(entry.path);
  }

  return {
    objects,
    problems,
    examinedFiles: [...examined].sort(),
    renderTargets: [...roots.map((k) => `kustomization ${k.dir || '.'}`), ...topCharts.map((d) => `chart ${d || '.'}`)],
  };
}

/** The kustomization of the file's directory, or of the nearest ancestor directory that has one. */
function governingKustomization(file: string, byDir: ReadonlyMap<string, Kustomization>): Kustomization | undefined {
  for (let dir = dirOf(file); ; dir = dirOf(dir)) {
    const found = byDir.get(dir);
    if (found) return found;
    if (dir === '') return undefined;
  }
}

/**
 * The build a plain file is part of: the kustomization tree it is under (one
 * that was not rendered, so its resources are linted as written; each
 * overlay and base is built separately), a file of `helm template` output
 * (one rendering, with one values file, each), or the repository's plain
 * manifests (undefined), applied together.
 */
function plainBuild(file: LoadedFile, byDir: ReadonlyMap<string, Kustomization>): string | undefined {
  const governor = governingKustomization(file.path, byDir);
  if (governor) return `kustomization ${governor.dir || '.'}`;
  if (/^# Source: [^\n]*\/templates\//m.test(file.source.text)) return `helm output ${file.path}`;
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An info for a manifest that a rendered kustomization does not list: at the
 * commented-out entry when the kustomization has one (`# - debug.yaml`),
 * else at the file's first object.
 */
function ignoredByKustomization(file: string, k: Kustomization, objects: readonly KubeObject[]): DiscoveryProblem {
  const relative = k.dir ? file.slice(k.dir.length + 1) : file;
  const what =
    objects.length > 0
      ? ` (${objects
          .slice(0, 3)
          .map((o) => o.ref)
          .join(', ')}${objects.length > 3 ? ', …' : ''})`
      : '';
  const text = k.loaded.source.text;
  const commented = new RegExp(
    `^[ \\t]*#[ \\t]*-?[ \\t]*["']?(?:\\./)?${escapeRegExp(relative)}["']?(?:[ \\t].*)?$`,
    'm',
  ).exec(text);
  const subject = `kustomization ${k.dir || '.'}`;
  if (commented) {
    const offset = commented.index + commented[0].indexOf('#');
    return {
      checkId: 'lint/render',
      severity: 'info',
      message: `${file}${what} is commented out of ${k.file}: kustomize does not deploy it, so it was not linted (uncomment the entry if it should be deployed)`,
      location: k.loaded.source.location(offset),
      subject,
    };
  }
  return {
    checkId: 'lint/render',
    severity: 'info',
    message: `${file}${what} is not listed in ${k.file} (resources): kustomize does not deploy it, so it was not linted (list it under resources: if it should be deployed, or delete it)`,
    location: objects[0]?.startLocation() ?? start(file),
    subject,
  };
}

/**
 * Resolves repository paths the way the renderers will: a symlink (which the
 * repository keeps only when it lands inside) is followed to its real path,
 * so a kustomization reached through one is still read and checked.
 */
function resolverOf(
  kinds: ReadonlyMap<string, string>,
  linkTargets: ReadonlyMap<string, string | undefined>,
): ResolvePath {
  return (start) => {
    let current = start;
    for (let hop = 0; hop < 16; hop++) {
      const kind = kinds.get(current);
      if (kind === 'dir' || kind === 'file') return { type: kind, path: current };
      const link = kind === 'symlink' ? linkTargets.get(current) : undefined;
      // An absolute link cannot be mapped to a repository path: treat it as missing.
      const next = link && !link.startsWith('/') ? normalizeRepoPath(link, dirOf(current)) : undefined;
      if (next === undefined) return undefined;
      current = next;
    }
    return undefined;
  };
}

async function mapKustomizeOutput(
  stdout: string,
  root: Kustomization,
  tree: Kustomization[],
  loader: FileLoader,
  settings: LintSettings,
  problems: DiscoveryProblem[],
): Promise<KubeObject[]> {
  const pool: SourcePool = { objects: new Map(), patches: new Map() };
  for (const k of tree) {
    for (const f of k.resourceFiles) {
      const loaded = await loader.load(f, { requireKubernetes: false });
      if (loaded) addToPool(pool.objects, loaded, 'object');
    }
    for (const f of k.patchFiles) {
      const loaded = await loader.load(f, { requireKubernetes: false });
      if (loaded) addToPool(pool.patches, loaded, 'patch');
    }
  }
  const transformerFields = new Map<string, SourceLocation>();
  for (const k of tree)
    for (const [field, location] of k.transformerFields)
      if (!transformerFields.has(field)) transformerFields.set(field, location);
  const virtual = new SourceText(`${root.dir ? `${root.dir}/` : ''}(kustomize output)`, stdout);
  const parsed = parseYamlFile(stdout);
  const out: KubeObject[] = [];
  for (const doc of parsed.documents) {
    if (!isRecord(doc.value)) continue;
    const ds = new DocumentSource(virtual, doc.start, doc.end, doc.contentStart, doc.value, doc.positions);
    const value = doc.value;
    const metadata = isRecord(value.metadata) ? value.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const kind = typeof value.kind === 'string' ? value.kind : '';
    const sources = sourcesFor(pool, kind, name);
    const origin = (): ObjectOrigin => ({
      sources,
      fallback:
        sources.length > 0
          ? sources[sources.length - 1]!.doc.startLocation()
          : (transformerFields.get(`@${kind}`) ?? start(root.file)),
      transformerFields,
      renderedBy: 'kustomize',
      renderedFrom: root.dir || '.',
      build: `kustomization ${root.dir || '.'}`,
    });
    out.push(...objectsOfDocument(ds, value, settings.ignoreApiGroups, origin));
  }
  if (parsed.problems.length > 0) {
    problems.push({
      checkId: 'lint/render',
      severity: 'error',
      message: `kubectl kustomize ${root.dir || '.'} produced output that is not valid YAML`,
      location: start(root.file),
      subject: `kustomization ${root.dir || '.'}`,
    });
  }
  return out;
}

async function mapHelmOutput(
  stdout: string,
  chartDir: string,
  repo: RepoFiles,
  loader: FileLoader,
  settings: LintSettings,
  problems: DiscoveryProblem[],
  examined: Set<string>,
): Promise<KubeObject[]> {
  const virtual = new SourceText(`${chartDir ? `${chartDir}/` : ''}(helm output)`, stdout);
  const parsed = parseYamlFile(stdout);
  const texts = new Map<string, string | undefined>();
  const out: KubeObject[] = [];
  for (const doc of parsed.documents) {
    if (!isRecord(doc.value)) continue;
    const ds = new DocumentSource(virtual, doc.start, doc.end, doc.contentStart, doc.value, doc.positions);
    const comment = sourceComment(stdout.slice(doc.start, doc.end));
    const file = comment ? templatePath(chartDir, comment) : chartDir ? `${chartDir}/Chart.yaml` : 'Chart.yaml';
    if (!texts.has(file)) {
      const read = await repo.readText(file, { maxBytes: settings.maxFileBytes });
      texts.set(file, read.ok ? read.value : undefined);
      examined.add(file);
    }
    const kind = typeof doc.value.kind === 'string' ? doc.value.kind : '';
    const locator = templateLocator(file, texts.get(file), kind);
    const origin = (): ObjectOrigin => ({
      sources: [],
      fallback: locator([]),
      locator,
      renderedBy: 'helm',
      renderedFrom: chartDir || '.',
      build: `chart ${chartDir || '.'}`,
    });
    out.push(...objectsOfDocument(ds, doc.value, settings.ignoreApiGroups, origin));
  }
  if (parsed.problems.length > 0) {
    problems.push({
      checkId: 'lint/render',
      severity: 'error',
      message: `helm template ${chartDir || '.'} produced output that is not valid YAML`,
      location: start(chartDir ? `${chartDir}/Chart.yaml` : 'Chart.yaml'),
      subject: `chart ${chartDir || '.'}`,
    });
  }
  return out;
}

export type { LoadedFile };
