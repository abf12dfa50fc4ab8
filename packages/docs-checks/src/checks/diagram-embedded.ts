import { z } from 'zod';
import { defineCheck, type KubeObjectRef, type RepoFiles, type SourceLocation } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import { collectDiagramSources, type CodeDiagram, type ImageUse } from '../diagrams/collect.js';
import { MERMAID_VALIDATED_TYPES } from '../diagrams/mermaid.js';
import { inspectRaster, type RasterOutcome } from '../images/raster.js';
import { extensionOf, resolveTarget } from '../images/resolve.js';
import { IMAGE_EXTENSIONS, IMAGE_FORMAT_NAMES, sniffImage, type ImageInfo, type SniffResult } from '../images/sniff.js';
import { nameFormsOf, WORKLOAD_KINDS } from '../kube/names.js';
import { foldText } from '../language/vocabulary.js';
import { selectSection } from '../markdown/sections.js';
import { documentOf, notesLocation, notesUnavailable, plural, quote } from './shared.js';

export const diagramEmbeddedOptions = z.strictObject({
  /**
   * A remote image (http/https) cannot be verified offline. accept: it counts
   * as the diagram (info finding); warn: it counts, with a warning; reject: it
   * does not count.
   */
  remoteImages: z.enum(['accept', 'warn', 'reject']).default('reject'),
  /** Raster images (and SVGs that declare a size) smaller than this are placeholders, not diagrams. */
  minWidth: z.number().int().min(1).default(64),
  minHeight: z.number().int().min(1).default(64),
  /** An SVG must draw at least this many shapes, paths, texts or images. */
  minSvgElements: z.number().int().min(0).default(3),
  /** Whether a mermaid or PlantUML block can be the diagram. */
  diagramsAsCode: z.boolean().default(true),
  /** Mermaid diagram types accepted as an architecture diagram (all of them are validated). */
  mermaidTypes: z
    .array(z.enum(MERMAID_VALIDATED_TYPES))
    .min(1)
    .default([...MERMAID_VALIDATED_TYPES]),
  /** A diagram-as-code block must name at least this many components. */
  minComponents: z.number().int().min(1).default(2),
  /** Where "no diagram" is reported: the diagram/architecture section (these add to the built-in words), else the top of the notes. */
  sectionPatterns: z.array(z.string()).default([]),
  /**
   * A raster image whose most common colour covers at least this share of
   * its pixels is a flat colour, not a diagram.
   */
  maxFlatShare: z.number().min(0.5).max(1).default(0.999),
  /** Above this share (and below maxFlatShare) the picture is nearly empty: counted at half credit, for an instructor to look at. */
  maxNearlyFlatShare: z.number().min(0.5).max(1).default(0.995),
  /**
   * Whether an SVG or diagram-as-code must name at least one object of the
   * manifests in its labels. When it names none it counts at half credit and
   * is marked for an instructor's look.
   */
  requireManifestNames: z.boolean().default(true),
});
export type DiagramEmbeddedOptions = z.infer<typeof diagramEmbeddedOptions>;

/** Extensions of diagram sources that a Markdown viewer cannot show. */
const SOURCE_EXTENSIONS = new Set([
  'drawio',
  'dio',
  'excalidraw',
  'puml',
  'plantuml',
  'pu',
  'mmd',
  'mermaid',
  'dot',
  'gv',
  'vsdx',
  'vsd',
  'pdf',
  'xml',
]);
/** Hosts of diagram tools whose links are diagrams that are not in the repository. */
const DIAGRAM_HOSTS =
  /(^|\.)(diagrams\.net|draw\.io|lucid\.app|lucidchart\.com|miro\.com|excalidraw\.com|figma\.com|whimsical\.com|mermaid\.live|mermaid\.ink|plantuml\.com|kroki\.io|cloudcraft\.co|creately\.com|gliffy\.com)$/i;

interface Problem {
  message: string;
  location: SourceLocation;
  fixHint?: string;
  /** Problems that never stop a diagram from counting (e.g. a wrong extension). */
  soft?: boolean;
  /** A remote image counted under the `accept` policy: reported for information only. */
  informational?: boolean;
}

interface Verdict {
  valid: boolean;
  problems: Problem[];
  evidence?: string;
  /** Local path the candidate resolved to, if any. */
  path?: string;
  /** Counted, but the grader is not sure it shows this lab: why (half credit, for an instructor to confirm). */
  unsure?: { message: string; review: string; location: SourceLocation };
  /** Labels the diagram shows, to compare with the manifests, with the id a diagram-as-code gave each. */
  labels?: DiagramLabel[];
}

const EMBED_HINT = [
  'Export the diagram as SVG or PNG, commit it, and embed it with a relative path:',
  '',
  '```markdown',
  '![Architecture of the lab 85 service](docs/architecture.svg)',
  '```',
].join('\n');

const MERMAID_HINT = [
  'Fix the diagram so that GitHub renders it (paste it into https://mermaid.live to see the error), e.g.:',
  '',
  '```mermaid',
  'flowchart LR',
  '  user([Browser]) --> ing[Ingress web] --> svc[Service web] --> dep["Deployment web (3 pods)"]',
  '  dep --> cm[(ConfigMap web-config)]',
  '```',
].join('\n');

function describeInfo(info: ImageInfo): string {
  const size = info.width !== undefined && info.height !== undefined ? `, ${info.width}×${info.height}` : '';
  const elements = info.drawingElements !== undefined ? `, ${plural(info.drawingElements, 'drawing element')}` : '';
  return `${IMAGE_FORMAT_NAMES[info.format]}${size}${elements}`;
}

async function suggestCase(repo: RepoFiles, path: string): Promise<string | undefined> {
  const lower = path.toLowerCase();
  return (await repo.list()).find((e) => e.path.toLowerCase() === lower)?.path;
}

async function isDirectory(repo: RepoFiles, path: string): Promise<boolean> {
  return (await repo.list()).some((e) => e.path.startsWith(`${path}/`));
}

/** Judges what the bytes of an image (local file or data: URI) turned out to be, and what a raster one shows. */
async function judgeSniff(
  sniff: SniffResult,
  name: string,
  use: ImageUse,
  options: DiagramEmbeddedOptions,
  raster: () => Promise<RasterOutcome>,
): Promise<Verdict> {
  const where = `${name} (line ${use.location.line})`;
  if (!sniff.ok) {
    return {
      valid: false,
      problems: [
        {
          message:
            sniff.problem === 'empty'
              ? `The image ${where} is an empty file.`
              : `The image ${where} is not a PNG, JPEG, GIF, WebP or SVG image: its bytes are ${sniff.what}.`,
          location: use.location,
          fixHint: EMBED_HINT,
        },
      ],
    };
  }
  const { info } = sniff;
  const problems: Problem[] = [];
  const expected = IMAGE_EXTENSIONS[extensionOf(name)];
  if (expected && expected !== info.format) {
    problems.push({
      soft: true,
      message: `${where} is named like a ${IMAGE_FORMAT_NAMES[expected]} but is a ${IMAGE_FORMAT_NAMES[info.format]}; rename it so tools treat it correctly.`,
      location: use.location,
      fixHint: `Rename the file to use the \`.${info.format === 'jpeg' ? 'jpg' : info.format}\` extension and update the link.`,
    });
  }
  const tooSmall =
    info.width !== undefined &&
    info.height !== undefined &&
    (info.width < options.minWidth || info.height < options.minHeight);
  if (tooSmall) {
    problems.push({
      message: `The image ${where} is only ${info.width}×${info.height} pixels: a placeholder, not a diagram (at least ${options.minWidth}×${options.minHeight}).`,
      location: use.location,
      fixHint: EMBED_HINT,
    });
  } else if (info.format === 'svg' && (info.drawingElements ?? 0) < options.minSvgElements) {
    problems.push({
      message: `The SVG ${where} draws ${plural(info.drawingElements ?? 0, 'element')}: an empty placeholder, not a diagram.`,
      location: use.location,
      fixHint: EMBED_HINT,
    });
  }
  const verdict: Verdict = {
    valid: !problems.some((p) => !p.soft),
    problems,
    evidence: `${name} (${describeInfo(info)})`,
  };
  if (info.format === 'svg') {
    verdict.labels = (info.labels ?? []).map((text) => ({ text }));
    return verdict;
  }
  if (!verdict.valid) return verdict;
  const shown = await raster();
  if (shown.status === 'corrupt') {
    verdict.valid = false;
    problems.push({
      message: `The image ${where} cannot be decoded (${quote(shown.reason, 80)}): a corrupt or truncated ${IMAGE_FORMAT_NAMES[info.format]} shows nothing.`,
      location: use.location,
      fixHint: EMBED_HINT,
    });
  } else if (shown.status === 'not-inspected') {
    verdict.evidence += `; pixels not inspected: ${shown.reason}`;
    verdict.unsure = {
      message: `The pixels of the image ${where} were not inspected (${shown.reason}), so it is not known to show a diagram.`,
      review: 'look at the picture: is it the architecture diagram?',
      location: use.location,
    };
  } else {
    const { stats } = shown;
    const share = `${Math.round(stats.dominantShare * 1000) / 10}%`;
    verdict.evidence += `, ${plural(stats.colours, 'colour')}, ${share} ${stats.dominantColour}`;
    if (stats.dominantShare >= options.maxFlatShare) {
      verdict.valid = false;
      problems.push({
        message: `The image ${where} is a single flat colour (${stats.dominantColour} on ${share} of its pixels): it shows no diagram.`,
        location: use.location,
        fixHint: EMBED_HINT,
      });
    } else if (stats.dominantShare >= options.maxNearlyFlatShare) {
      verdict.unsure = {
        message: `The image ${where} is almost entirely one colour (${stats.dominantColour} on ${share} of its pixels): it may show nothing readable.`,
        review: 'look at the picture: does it show the architecture?',
        location: use.location,
      };
    }
  }
  return verdict;
}

/** Each file is read, sniffed and decoded once, however often the notes embed it. */
interface SniffCache {
  reads: Map<string, Promise<{ ok: true; sniff: SniffResult; bytes: Uint8Array } | { ok: false; message: string }>>;
  rasters: Map<string, Promise<RasterOutcome>>;
}

function rasterOf(
  context: DocsContext,
  cache: SniffCache,
  key: string,
  bytes: Uint8Array,
  info: ImageInfo,
): () => Promise<RasterOutcome> {
  return () => {
    let pending = cache.rasters.get(key);
    if (!pending) {
      pending = inspectRaster(
        bytes,
        info,
        { maxPixels: context.settings.images.maxPixels, timeoutMs: context.settings.parsing.timeoutMs },
        context.signal,
      );
      cache.rasters.set(key, pending);
    }
    return pending;
  };
}

async function judgeImage(
  context: DocsContext,
  use: ImageUse,
  options: DiagramEmbeddedOptions,
  dir: string,
  cache: SniffCache,
): Promise<Verdict> {
  const { repo, settings } = context;
  const at = `line ${use.location.line}`;
  if (use.url.trim() === '') {
    return {
      valid: false,
      problems: [{ message: `The image at ${at} has no source path.`, location: use.location, fixHint: EMBED_HINT }],
    };
  }
  const target = resolveTarget(use.url, dir, settings.images.maxBytes);
  switch (target.kind) {
    case 'invalid':
      return {
        valid: false,
        problems: [
          {
            message: `The image '${quote(use.url, 50)}' (${at}) is ${target.reason}, so it cannot be shown from the repository.`,
            location: use.location,
            fixHint: EMBED_HINT,
          },
        ],
      };
    case 'remote': {
      const message = `The image at ${at} is remote (${target.host}) and cannot be checked offline`;
      if (options.remoteImages === 'reject') {
        return {
          valid: false,
          problems: [
            {
              message: `${message}; it does not count as the diagram: commit the image to the repository.`,
              location: use.location,
              fixHint: EMBED_HINT,
            },
          ],
        };
      }
      return {
        valid: true,
        problems: [
          {
            soft: true,
            informational: options.remoteImages === 'accept',
            message: `${message}; it was counted without verification.`,
            location: use.location,
            fixHint: EMBED_HINT,
          },
        ],
        evidence: `remote image ${quote(target.url, 80)} (not verified)`,
      };
    }
    case 'data': {
      const sniff = sniffImage(target.bytes);
      const name = `data:${target.mediaType} image`;
      return judgeSniff(sniff, name, use, options, () =>
        sniff.ok
          ? rasterOf(context, cache, `data:${use.location.line}:${use.location.column}`, target.bytes, sniff.info)()
          : Promise.resolve({ status: 'not-inspected', reason: 'not an image' }),
      );
    }
    case 'local':
      break;
  }
  const path = target.path;
  const entry = await repo.stat(path);
  const fail = (message: string, fixHint = EMBED_HINT): Verdict => ({
    valid: false,
    path,
    problems: [{ message, location: use.location, fixHint }],
  });
  if (!entry) {
    if (await isDirectory(repo, path)) return fail(`The image path ${path} (${at}) is a directory, not an image file.`);
    const other = await suggestCase(repo, path);
    if (other) {
      return fail(
        `The image ${path} (${at}) does not exist; ${other} does: paths are case-sensitive on GitHub and in the grader.`,
        `Use the exact file name: \`![…](${other})\`, or rename the file.`,
      );
    }
    return fail(`The image ${path} (${at}) does not exist in the repository.`);
  }
  if (entry.kind === 'symlink-outside') {
    return fail(
      `The image ${path} (${at}) is a symbolic link to ${entry.linkTarget ?? 'a file'} outside the repository; it was not read.`,
      'Commit the image file itself instead of a symbolic link.',
    );
  }
  if (entry.kind === 'symlink-broken') {
    return fail(
      `The image ${path} (${at}) is a symbolic link to ${entry.linkTarget ?? 'a file'}, which does not exist.`,
      'Commit the image file itself instead of a symbolic link.',
    );
  }
  let pending = cache.reads.get(path);
  if (!pending) {
    pending = repo
      .readBytes(path, { maxBytes: settings.images.maxBytes })
      .then((read) =>
        read.ok
          ? { ok: true as const, sniff: sniffImage(read.value), bytes: read.value }
          : { ok: false as const, message: read.message },
      );
    cache.reads.set(path, pending);
  }
  const read = await pending;
  if (!read.ok) return fail(`The image ${path} (${at}) could not be read: ${read.message}.`);
  const sniff = read.sniff;
  const raster = sniff.ok
    ? rasterOf(context, cache, path, read.bytes, sniff.info)
    : () => Promise.resolve<RasterOutcome>({ status: 'not-inspected', reason: 'not an image' });
  return { ...(await judgeSniff(sniff, path, use, options, raster)), path };
}

function judgeCode(diagram: CodeDiagram, options: DiagramEmbeddedOptions): Verdict {
  const { parse } = diagram;
  const name = diagram.language === 'mermaid' ? 'mermaid' : 'PlantUML';
  const at = `line ${diagram.location.line}`;
  const hint = diagram.language === 'mermaid' ? MERMAID_HINT : EMBED_HINT;
  if (!options.diagramsAsCode) {
    return {
      valid: false,
      problems: [
        {
          message: `The ${name} block at ${at} is not accepted as the diagram by this rubric: embed an image instead.`,
          location: diagram.location,
          fixHint: EMBED_HINT,
        },
      ],
    };
  }
  if (parse.unchecked !== undefined && parse.errors.length === 0) {
    return {
      valid: true,
      problems: [],
      evidence: `${name} block at ${at} (not checked: ${parse.unchecked})`,
      unsure: {
        message: `The ${name} block at ${at} could not be checked (${parse.unchecked}).`,
        review: 'check that the diagram renders and shows the architecture.',
        location: diagram.location,
      },
    };
  }
  if (parse.errors.length > 0) {
    return {
      valid: false,
      problems: parse.errors.slice(0, 5).map((e) => ({
        message: `The ${name} diagram does not parse: ${e.message} (line ${diagram.firstLine + e.line - 1}).`,
        location: { file: diagram.location.file, line: diagram.firstLine + e.line - 1, column: 1 },
        fixHint: hint,
      })),
    };
  }
  const acceptedTypes: readonly string[] = options.mermaidTypes;
  if (!parse.validated || (diagram.language === 'mermaid' && !acceptedTypes.includes(parse.type ?? ''))) {
    return {
      valid: false,
      problems: [
        {
          message: `The ${name} block at ${at} is a ${parse.type ?? 'unknown'} diagram, not an architecture diagram (accepted: ${diagram.language === 'mermaid' ? acceptedTypes.join(', ') : 'component, deployment or sequence diagrams'}).`,
          location: diagram.location,
          fixHint: hint,
        },
      ],
    };
  }
  const names = parse.components.map((c) => c.label);
  if (parse.components.length < options.minComponents) {
    return {
      valid: false,
      problems: [
        {
          message: `The ${name} diagram at ${at} names ${plural(names.length, 'component')}${names.length ? ` (${quote(names.join(', '), 40)})` : ''}; an architecture diagram shows how at least ${options.minComponents} connect.`,
          location: diagram.location,
          fixHint: hint,
        },
      ],
    };
  }
  return {
    valid: true,
    problems: [],
    evidence: `${name} ${parse.type ?? ''} diagram at ${at} naming ${plural(names.length, 'component')}: ${quote(names.join(', '), 120)}`,
    labels: parse.components.map((c) => (c.label === c.id ? { text: c.label } : { text: c.label, id: c.id })),
  };
}

interface DiagramLabel {
  text: string;
  id?: string;
}

type Named = Pick<KubeObjectRef, 'kind' | 'name'>;

/** An object with the phrases that name it, compiled once for every label. */
interface Candidate {
  object: Named;
  forms: { form: string; loose: boolean; re: RegExp }[];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** How a label says a kind: "Service web", "web svc", "Deployment web", "web (StatefulSet)". */
const KIND_ABBREVIATIONS: Record<string, readonly string[]> = {
  Deployment: ['deploy'],
  StatefulSet: ['sts'],
  DaemonSet: ['ds'],
  Service: ['svc'],
  Ingress: ['ing'],
  ConfigMap: ['cm'],
  PersistentVolumeClaim: ['pvc'],
  HorizontalPodAutoscaler: ['hpa'],
  PodDisruptionBudget: ['pdb'],
  NetworkPolicy: ['netpol'],
};

const kindWords = new Map<string, RegExp>();

function saysKind(folded: string, kind: string): boolean {
  let re = kindWords.get(kind);
  if (!re) {
    const words = [
      foldText(kind),
      foldText(kind.replace(/([a-z])([A-Z])/g, '$1 $2')),
      ...(KIND_ABBREVIATIONS[kind] ?? []),
    ];
    re = new RegExp(`(?<![^\\s])(?:${words.map(escapeRegExp).join('|')})s?(?![^\\s])`);
    kindWords.set(kind, re);
  }
  return re.test(folded);
}

/** Which object of a name a label means when it does not say the kind: what runs, then what routes to it. */
function kindRank(kind: string): number {
  if ((WORKLOAD_KINDS as readonly string[]).includes(kind) || kind === 'Pod') return 0;
  if (kind === 'Service') return 1;
  if (['Ingress', 'HTTPRoute', 'Route', 'Gateway'].includes(kind)) return 2;
  return 3;
}

/**
 * The objects one label names. Not every object with a word in common: a
 * name inside a longer one is that one's ("result frontend" is not also the
 * policy `sample-api-allow-frontend`); a word that only names the software of
 * an object (`postgres-secret` → "Postgres") counts when nothing is named
 * outright; and of the objects one name names (Deployment, Service,
 * ServiceAccount `web`), the kind the label says, else the one that runs.
 */
function objectsOfLabel(label: string, candidates: readonly Candidate[]): Named[] {
  const folded = foldText(label);
  let hits: { object: Named; start: number; end: number; loose: boolean }[] = [];
  for (const { object, forms } of candidates) {
    let best: (typeof hits)[number] | undefined;
    for (const { form, loose, re } of forms) {
      const m = re.exec(folded);
      if (m && (!best || form.length > best.end - best.start || (form.length === best.end - best.start && !loose)))
        best = { object, start: m.index, end: m.index + form.length, loose };
    }
    if (best) hits.push(best);
  }
  hits = hits.filter(
    (h) => !hits.some((o) => o.start <= h.start && o.end >= h.end && o.end - o.start > h.end - h.start),
  );
  if (hits.some((h) => !h.loose)) hits = hits.filter((h) => !h.loose);
  const out: Named[] = [];
  const spans = new Map<string, Named[]>();
  for (const h of hits) {
    const key = h.loose ? 'loose' : `${h.start}:${h.end}`;
    spans.set(key, [...(spans.get(key) ?? []), h.object]);
  }
  for (const objects of spans.values()) {
    const said = objects.filter((o) => saysKind(folded, o.kind));
    if (said.length > 0) out.push(...said);
    else {
      const rank = Math.min(...objects.map((o) => kindRank(o.kind)));
      out.push(...objects.filter((o) => kindRank(o.kind) === rank));
    }
  }
  return out;
}

/** The objects of the manifests (and the Secrets they reference) that the labels name; an id when its label names none. */
function namedObjects(labels: readonly DiagramLabel[], context: DocsContext): string[] {
  const objects: Named[] = [
    ...context.inventory.objects,
    ...(context.inventory.references ?? []).filter((r) => !r.defined),
  ].filter((o) => o.kind !== 'Namespace');
  const candidates: Candidate[] = objects.map((object) => ({
    object,
    forms: nameFormsOf(object.name).map((f) => ({
      ...f,
      re: new RegExp(`(?<![^\\s])${escapeRegExp(f.form)}(?![^\\s])`),
    })),
  }));
  const named = new Set<Named>();
  for (const label of labels) {
    let found = objectsOfLabel(label.text, candidates);
    if (found.length === 0 && label.id !== undefined) found = objectsOfLabel(label.id, candidates);
    for (const o of found) named.add(o);
  }
  return objects.filter((o) => named.has(o)).map((o) => `${o.kind} ${o.name}`);
}

export const diagramEmbedded = defineCheck<DocsContext, DiagramEmbeddedOptions>({
  id: 'docs/diagram-embedded',
  stage: 'docs',
  title: 'The notes embed a real architecture diagram',
  rationale:
    'A diagram is how a newcomer or an on-call engineer grasps the system in seconds; it has to render where the notes are read, from files in the repository.',
  severity: 'error',
  fixHint: [
    'Embed the diagram in the notes, either as an image committed to the repository or as a mermaid block:',
    '',
    '```markdown',
    '![Architecture of the lab 85 service](docs/architecture.svg)',
    '```',
    '',
    'or',
    '',
    '````markdown',
    '```mermaid',
    'flowchart LR',
    '  ing[Ingress web] --> svc[Service web] --> dep[Deployment web]',
    '```',
    '````',
  ].join('\n'),
  docsUrl:
    'https://docs.github.com/en/get-started/writing-on-github/working-with-advanced-formatting/creating-diagrams',
  options: diagramEmbeddedOptions,
  async run(context, options, reporter) {
    const doc = documentOf(context);
    if (!doc) return notesUnavailable(context, reporter, ['diagram'], 'the architecture diagram');
    reporter.examine('diagram');
    const sources = collectDiagramSources(doc, context.notes.status === 'ok' ? context.notes.mermaid : undefined);
    const verdicts: { verdict: Verdict; kind: 'image' | 'code'; location: SourceLocation }[] = [];
    const cache: SniffCache = { reads: new Map(), rasters: new Map() };
    const limit = context.settings.images.maxCount;
    for (const use of sources.images.slice(0, limit)) {
      verdicts.push({
        verdict: await judgeImage(context, use, options, doc.dir, cache),
        kind: 'image',
        location: use.location,
      });
    }
    for (const code of sources.code) {
      verdicts.push({ verdict: judgeCode(code, options), kind: 'code', location: code.location });
    }

    // A diagram that draws labels should name what the manifests define.
    const hasManifests = context.inventory.objects.length > 0;
    for (const { verdict, location } of verdicts) {
      if (!verdict.valid || verdict.labels === undefined || !options.requireManifestNames || !hasManifests) continue;
      const named = namedObjects(verdict.labels, context);
      if (named.length > 0) {
        verdict.evidence += `; names ${plural(named.length, 'object')} of the manifests: ${named.join(', ')}`;
      } else if (!verdict.unsure) {
        const labels = verdict.labels.slice(0, 6).map((l) => quote(l.text, 24));
        const workloads = context.inventory.objects
          .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Service'].includes(o.kind))
          .map((o) => o.name);
        verdict.unsure = {
          message:
            labels.length > 0
              ? `The diagram ${verdict.path ?? verdict.evidence ?? ''} names none of the manifests' objects (its labels: ${labels.join(', ')}; the manifests: ${[...new Set(workloads)].slice(0, 6).join(', ')}).`
              : `The diagram ${verdict.path ?? verdict.evidence ?? ''} has no text labels, so it cannot be compared with the manifests.`,
          review: 'is this the diagram of this lab? Its labels do not name the objects the manifests define.',
          location,
        };
      }
    }

    const valid = verdicts.filter((v) => v.verdict.valid);
    const sure = valid.filter((v) => !v.verdict.unsure);
    const anyValid = valid.length > 0;
    const severity = anyValid ? 'warning' : 'error';
    for (const v of valid) reporter.evidence('diagram', v.verdict.evidence ?? 'diagram');

    // With a diagram that counts, the other candidates' problems are warnings that do not fail it.
    let reported = 0;
    const report = (finding: Parameters<typeof reporter.report>[0]): void => {
      reported++;
      reporter.report(finding);
    };
    const problemSubject = anyValid ? 'diagram (not counted)' : 'diagram';
    for (const { verdict } of verdicts) {
      for (const problem of verdict.problems) {
        report({
          message: problem.message,
          location: problem.location,
          subject: problem.informational ? 'diagram' : problemSubject,
          severity: problem.informational ? 'info' : problem.soft ? 'warning' : severity,
          ...(problem.fixHint ? { fixHint: problem.fixHint } : {}),
        });
      }
    }
    // Unsure diagrams count at half credit, for an instructor to confirm, unless another diagram is certain.
    if (sure.length === 0 && valid.length > 0) {
      const { unsure } = valid[0]!.verdict;
      reporter.report({
        severity: 'warning',
        message: `${unsure!.message} Half credit until an instructor confirms it.`,
        location: unsure!.location,
        subject: 'diagram',
        review: unsure!.review,
      });
      reporter.credit(0.5);
    }
    for (const ref of sources.undefinedReferences) {
      report({
        message: `The image reference [${ref.label}] (line ${ref.location.line}) is never defined, so nothing is shown: add a line '[${ref.label}]: path/to/diagram.svg'.`,
        location: ref.location,
        subject: problemSubject,
        severity,
        fixHint: EMBED_HINT,
      });
    }
    const embeddedPaths = new Set(verdicts.map((v) => v.verdict.path).filter((p): p is string => p !== undefined));
    for (const link of sources.links) {
      const target = resolveTarget(link.url, doc.dir);
      const ext = extensionOf(target.kind === 'local' ? target.path : link.url);
      let message: string | undefined;
      if (target.kind === 'local' && embeddedPaths.has(target.path)) continue;
      if (target.kind === 'remote' && DIAGRAM_HOSTS.test(target.host)) {
        message = `Line ${link.location.line} links to a diagram on ${target.host} instead of embedding it; a link cannot be checked and may change after the deadline.`;
      } else if (ext in IMAGE_EXTENSIONS && (target.kind === 'local' || target.kind === 'remote')) {
        const shown = target.kind === 'local' ? target.path : link.url;
        message = `Line ${link.location.line} links to the image ${quote(shown, 60)} instead of embedding it: write ![${quote(link.text || 'Architecture diagram', 30)}](${link.url}) so it shows in the notes.`;
      } else if (SOURCE_EXTENSIONS.has(ext) && target.kind === 'local') {
        message = `Line ${link.location.line} links to the diagram source ${target.path}, which a Markdown viewer cannot show: export it as SVG or PNG and embed that (or use a mermaid block).`;
      }
      if (message) {
        report({ message, location: link.location, subject: problemSubject, severity, fixHint: EMBED_HINT });
      }
    }
    if (sources.images.length > limit) {
      const first = sources.images[limit]!;
      reporter.report({
        severity: 'info',
        message: `Only the first ${limit} images were checked; ${plural(sources.images.length - limit, 'more image')} from line ${first.location.line} on ${sources.images.length - limit === 1 ? 'was' : 'were'} not.`,
        location: first.location,
        subject: 'images not checked',
        fixHint: 'Keep the notes focused: one architecture diagram, and screenshots only where they are evidence.',
      });
    }
    if (verdicts.length === 0 && reported === 0) {
      const section = selectSection(doc, context.lexicon, { topic: 'diagram', patterns: options.sectionPatterns })
        .chosen?.heading;
      reporter.report({
        message: 'The notes embed no architecture diagram (no image and no mermaid or PlantUML block).',
        location: section ? { file: doc.path, line: section.line, column: section.column } : notesLocation(context),
        subject: 'diagram',
      });
    }
  },
});
