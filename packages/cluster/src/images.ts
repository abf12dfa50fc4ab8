/**
 * Student images: the images a lab's manifests name that the local Docker
 * daemon does not have are built from the repository's Dockerfile and loaded
 * into the kind cluster under exactly the manifest's name, instead of being
 * left to the node to pull (which fails where there is no registry, and
 * would grade whatever a registry holds rather than the submitted code).
 *
 * Which Dockerfile builds which image (the first rule that applies):
 *
 *  1. an entry of the settings' `images.build` for that exact image name;
 *  2. a Dockerfile in a directory named after the image's last path segment
 *     (`ghcr.io/me/lab85-web:1.0` → `lab85-web/Dockerfile`, at any depth up
 *     to four directories), when exactly one such directory has one;
 *  3. the repository's root Dockerfile, or else its only Dockerfile, for the
 *     one image left without one by rules 1 and 2, when exactly one is left;
 *     Docker Hub official images (`redis:7`, `nginx`) are never matched by
 *     this rule (a student's Dockerfile does not build Redis).
 *
 * Otherwise the image is left to the node, as before, and the evidence says
 * why it was not built. Images pinned by digest are never built (no build
 * reproduces a digest). `Containerfile` counts as a Dockerfile; hidden
 * directories, node_modules and vendor are not searched.
 *
 * The build is hostile code on the grading host (docs/security.md): no
 * network for its RUN steps unless the settings allow it, no build cache
 * shared with other submissions (`--no-cache`), no build arguments, secrets
 * or SSH agents, a time limit and a size limit; `ADD <url>` (fetched by the
 * engine, outside the build's network sandbox) is refused. On the host the
 * image gets a tag of this job's own (`labgrader-build/<job>-<n>`, never the
 * manifest's name: two students naming the same image, graded at once, must
 * never get each other's build), is labelled `labgrader.built-by=labgrader`
 * for a janitor, loaded into the nodes and tagged there with the manifest's
 * name, and removed from the host and the nodes after the job.
 *
 * Any build that cannot work (its base image is not local and cannot be
 * pulled, a step fails, a budget is exceeded) makes the submission not
 * gradable with the failing step and its message, never a zero.
 */
import path from 'node:path';
import {
  NotGradableError,
  normalizeRepoPath,
  redactSecrets,
  type CommandRunner,
  type Evidence,
  type Logger,
  type RepoEntry,
  type RepoFiles,
} from '@labgrader/core';
import { Tool, displayName, firstLine, type Transcript } from './commands.js';
import type { ClusterSettings } from './settings.js';
import type { TargetSession } from './target.js';

export type ImageSettings = ClusterSettings['images'];

/** The label every image labgrader builds carries (a janitor removes what a crashed worker left). */
export const BUILT_BY_LABEL = 'labgrader.built-by=labgrader';
export const BUILD_JOB_LABEL = 'labgrader.job';

/** A Dockerfile chosen to build one image of the manifests. */
export interface BuildSpec {
  image: string;
  /** Repository-relative; '' is the root. */
  context: string;
  dockerfile: string;
  /** Which rule chose it, for the evidence. */
  rule: string;
}

export interface BuiltImage {
  image: string;
  /** The host tag of this job's own. */
  hostTag: string;
  dockerfile: string;
  context: string;
  seconds: number;
  sizeBytes: number;
  builder: 'buildkit' | 'legacy';
  /** Classic builder: the images of its steps, the earlier stages' too (not removed with the tag). */
  stepImages?: string[];
}

/**
 * The images a classic build's steps made (` ---> <id>` after each step),
 * oldest first, without the base images its FROM steps name (never ours to
 * remove: `docker image rm <id>` would untag the course's base image).
 * With --no-cache every other step makes an image of its own.
 */
export function stepImages(stdout: string): string[] {
  const ids: string[] = [];
  let from = false;
  for (const line of stdout.split(/\r?\n/)) {
    const step = /^Step \d+\/\d+ : (\S+)/.exec(line);
    if (step) from = /^FROM$/i.test(step[1]!);
    const id = /^ ---> ([0-9a-f]{12,64})\s*$/.exec(line)?.[1];
    if (id && !from && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

// ---------------------------------------------------------------- references

const REFERENCE =
  /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

interface Reference {
  /** Registry host, `docker.io` when none is named. */
  domain: string;
  /** `library/redis`, `me/lab85-web`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses an image reference the way Docker does (a first segment with `.` or `:`, or `localhost`, is a registry). */
export function parseReference(ref: string): Reference | undefined {
  if (!REFERENCE.test(ref)) return undefined;
  const [nameTag = '', digest] = ref.split('@');
  let name = nameTag;
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const parts = name.split('/');
  const first = parts[0] ?? '';
  let domain = 'docker.io';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first === 'index.docker.io' ? 'docker.io' : first;
    parts.shift();
  }
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  return { domain, path: parts.join('/'), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The fully qualified name containerd (and so the kubelet) knows an image by: `docker.io/library/redis:7`. */
export function normalizeReference(ref: string): string {
  const r = parseReference(ref);
  if (!r) return ref;
  return `${r.domain}/${r.path}${r.tag || !r.digest ? `:${r.tag ?? 'latest'}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

function isOfficial(r: Reference): boolean {
  return r.domain === 'docker.io' && r.path.startsWith('library/');
}

// ---------------------------------------------------------------- which Dockerfile

const DOCKERFILE_NAMES = new Set(['Dockerfile', 'Containerfile']);
const MAX_DEPTH = 4;

/** The repository's Dockerfiles (regular files only), shallowest first. */
export function dockerfilesIn(entries: readonly RepoEntry[]): string[] {
  return entries
    .filter((e) => e.kind === 'file' && DOCKERFILE_NAMES.has(path.posix.basename(e.path)))
    .map((e) => e.path)
    .filter((p) => {
      const dirs = p.split('/').slice(0, -1);
      return (
        dirs.length <= MAX_DEPTH && dirs.every((d) => !d.startsWith('.') && d !== 'node_modules' && d !== 'vendor')
      );
    })
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

const dirOf = (file: string) => (path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file));
const shown = (dir: string) => (dir === '' ? 'the repository root' : `${dir}/`);

/**
 * Which of `images` (not in the local daemon) are built from which Dockerfile,
 * and why the others are not. Throws NotGradableError when an explicit
 * `images.build` entry points at something that does not exist.
 */
export function planBuilds(
  images: readonly string[],
  entries: readonly RepoEntry[],
  settings: Pick<ImageSettings, 'build' | 'buildMissing'>,
): { builds: BuildSpec[]; skipped: { image: string; why: string }[] } {
  const builds: BuildSpec[] = [];
  const skipped: { image: string; why: string }[] = [];
  const dockerfiles = dockerfilesIn(entries);
  const files = new Map(entries.map((e) => [e.path, e]));
  const left: { image: string; ref: Reference }[] = [];

  for (const image of images) {
    const ref = parseReference(image);
    const explicit = settings.build.find((b) => b.image === image);
    if (!ref) {
      skipped.push({ image, why: 'not a valid image reference' });
      continue;
    }
    if (ref.digest) {
      skipped.push({ image, why: 'pinned by digest: no build reproduces a digest' });
      continue;
    }
    if (explicit) {
      const context = explicit.context ?? (explicit.dockerfile ? dirOf(explicit.dockerfile) : '');
      const ctx = normalizeRepoPath(context);
      const dockerfile = normalizeRepoPath(explicit.dockerfile ?? path.posix.join(context, 'Dockerfile'));
      const inside = (p: string) => ctx === '' || p.startsWith(`${ctx}/`);
      const problem =
        ctx === undefined || dockerfile === undefined
          ? 'points outside the repository'
          : files.get(dockerfile)?.kind !== 'file'
            ? `names ${dockerfile}, which is not a file of the repository`
            : !entries.some((e) => e.kind === 'file' && inside(e.path))
              ? `names the build context ${shown(ctx)}, which is not a directory of the repository`
              : undefined;
      if (problem || ctx === undefined || dockerfile === undefined) {
        throw new NotGradableError(
          'image-build-failed',
          `the rubric's images.build entry for ${image} ${problem ?? 'is invalid'}, so the image cannot be built`,
          { hint: 'Commit the Dockerfile where the lab says, or ask the instructor to fix images.build.' },
        );
      }
      builds.push({ image, context: ctx, dockerfile, rule: 'images.build' });
      continue;
    }
    if (!settings.buildMissing) {
      skipped.push({ image, why: 'building is turned off (images.buildMissing: false)' });
      continue;
    }
    const segment = ref.path.split('/').pop() ?? '';
    const named = dockerfiles.filter((f) => path.posix.basename(dirOf(f)) === segment);
    const dirs = [...new Set(named.map(dirOf))];
    if (dirs.length === 1) {
      const dockerfile = named.find((f) => path.posix.basename(f) === 'Dockerfile') ?? named[0]!;
      builds.push({ image, context: dirs[0]!, dockerfile, rule: `a directory named after the image (${segment}/)` });
    } else if (dirs.length > 1) {
      skipped.push({ image, why: `several directories named ${segment}/ have a Dockerfile (${named.join(', ')})` });
    } else {
      left.push({ image, ref });
    }
  }

  const candidates = left.filter((l) => !isOfficial(l.ref));
  for (const l of left.filter((l) => isOfficial(l.ref))) {
    skipped.push({
      image: l.image,
      why: dockerfiles.length
        ? `a Docker Hub official image is not matched to the repository's Dockerfile (a directory ${l.ref.path.split('/').pop()}/ or images.build would be)`
        : 'the repository has no Dockerfile',
    });
  }
  if (candidates.length === 1) {
    const root = dockerfiles.find((f) => !f.includes('/'));
    const only = dockerfiles.length === 1 ? dockerfiles[0] : undefined;
    const dockerfile = root ?? only;
    const image = candidates[0]!.image;
    if (dockerfile) {
      builds.push({
        image,
        context: dirOf(dockerfile),
        dockerfile,
        rule: root ? 'the repository root Dockerfile' : "the repository's only Dockerfile",
      });
    } else {
      skipped.push({
        image,
        why: dockerfiles.length
          ? `no Dockerfile at the root and several elsewhere (${dockerfiles.join(', ')}): name a directory after the image, or set images.build`
          : 'the repository has no Dockerfile',
      });
    }
  } else {
    for (const c of candidates) {
      skipped.push({
        image: c.image,
        why: dockerfiles.length
          ? `several images have no Dockerfile of their own (${candidates.map((x) => x.image).join(', ')}): name a directory after each image, or set images.build`
          : 'the repository has no Dockerfile',
      });
    }
  }
  return { builds, skipped };
}

// ---------------------------------------------------------------- the build

/** Refuses what the build must not do on the grading host, before it starts. */
export function refuseDockerfile(text: string, network: ImageSettings['buildNetwork']): string | undefined {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (network === 'none' && /^ADD\s/i.test(line)) {
      const url = line.split(/\s+/).find((w) => /^(https?|git|ssh):\/\/|^git@/i.test(w));
      if (url) {
        return `ADD ${url} (line ${i + 1}) downloads during the build, which runs without network; commit the file and COPY it instead`;
      }
    }
  }
  return undefined;
}

const MAX_MESSAGE = 600;
const MAX_OUTPUT_LINES = 8;
const MAX_OUTPUT_CHARS = 1200;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const clipStart = (text: string, max: number) => (text.length > max ? `…${text.slice(-(max - 1))}` : text);

export interface BuildFailure {
  /** `Step 3/5 : RUN make` (legacy) or `[build 2/3] RUN make` (BuildKit). */
  step?: string;
  /** What failed, the engine's words. */
  message: string;
  /** The failing step's last output lines (compiler errors…). */
  output: string[];
  fromFailed: boolean;
}

/** What a failed `docker build` says: its failing step, its message, the step's last output lines. */
export function parseBuildFailure(stdout: string, stderr: string, builder: 'buildkit' | 'legacy'): BuildFailure {
  const clean = (text: string) => {
    const lines: string[] = [];
    let notice = false;
    // eslint-disable-next-line no-control-regex
    for (const raw of text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/)) {
      const line = raw.trimEnd();
      // The CLI's deprecation notice of the classic builder: a paragraph of indented lines.
      if (/^DEPRECATED: /.test(line)) {
        notice = true;
        continue;
      }
      if (notice && /^\s+\S/.test(line)) continue;
      notice = false;
      if (line.trim()) lines.push(line);
    }
    return lines;
  };
  if (builder === 'legacy') {
    const out = clean(stdout);
    const stepAt = out
      .map((l, i) => (/^Step \d+\/\d+ : /.test(l) ? i : -1))
      .filter((i) => i >= 0)
      .pop();
    const step = stepAt === undefined ? undefined : out[stepAt];
    const output =
      stepAt === undefined
        ? []
        : out
            .slice(stepAt + 1)
            .filter((l) => !/^ ---> |^Removing intermediate container /.test(l) && !/^Sending build context/.test(l));
    const errors = clean(stderr);
    return {
      ...(step ? { step } : {}),
      message: errors.join(' ') || out[out.length - 1] || 'docker build failed without a message',
      output,
      fromFailed: step ? /^Step \d+\/\d+ : FROM\s/i.test(step) : false,
    };
  }
  const all = clean(`${stdout}\n${stderr}`);
  const solve = all.filter((l) => /^ERROR: /.test(l)).pop();
  const errored = all.find((l) => /^#\d+ ERROR: /.test(l));
  const id = errored ? /^#(\d+) /.exec(errored)?.[1] : undefined;
  const stepLine = id ? all.find((l) => new RegExp(`^#${id} \\[`).test(l)) : undefined;
  const step = stepLine?.replace(/^#\d+ /, '');
  const output = id
    ? all.filter((l) => new RegExp(`^#${id} \\d+\\.\\d+ `).test(l)).map((l) => l.replace(/^#\d+ \d+\.\d+ /, ''))
    : [];
  return {
    ...(step ? { step } : {}),
    message: (solve ?? errored ?? all[all.length - 1] ?? 'docker build failed without a message')
      .replace(/^(#\d+ )?ERROR: /, '')
      .replace(/^failed to solve: /, ''),
    output,
    fromFailed: step
      ? /\bFROM\s/i.test(step) || /^\[internal\] load metadata/.test(step)
      : /failed to resolve source metadata|pull access denied/.test(solve ?? ''),
  };
}

function failureText(f: BuildFailure): { message: string; output: string } {
  const tail = f.output.slice(-MAX_OUTPUT_LINES).map((l) => clip(l, 200));
  return {
    message: clip(redactSecrets(f.message), MAX_MESSAGE),
    // The end is what matters (the compiler's error): cut from the front.
    output: clipStart(redactSecrets(tail.join('\n')), MAX_OUTPUT_CHARS),
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export interface StudentImagesDeps {
  runner: CommandRunner;
  transcript: Transcript;
  logger: Logger;
  signal: AbortSignal;
  /** The docker binary. */
  docker: string;
  job: string;
  repo: RepoFiles;
  settings: ImageSettings;
}

/**
 * The images of one job: loads the local ones, builds the missing ones it
 * can, and removes what it built. `provide` throws NotGradableError when a
 * build cannot work; `remove` never throws.
 */
export class StudentImages {
  readonly built: BuiltImage[] = [];
  /** Every image put into the nodes, loaded or built, as the manifests name it. */
  readonly inNodes: string[] = [];
  private builder: 'buildkit' | 'legacy' | undefined;

  constructor(private readonly deps: StudentImagesDeps) {}

  private tool(env: Record<string, string> = {}): Tool {
    const d = this.deps;
    return new Tool(d.runner, d.docker, displayName(d.docker), [], env, d.transcript, d.logger, d.signal);
  }

  /** BuildKit when the docker CLI has it (`docker buildx`), else the classic builder; both take `--network none`. */
  private async detectBuilder(): Promise<'buildkit' | 'legacy'> {
    if (this.builder) return this.builder;
    const buildx = await this.tool()
      .run(['buildx', 'version'], { timeoutMs: 30_000 })
      .catch(() => undefined);
    this.builder = buildx?.exitCode === 0 ? 'buildkit' : 'legacy';
    return this.builder;
  }

  /**
   * The hook of the cluster stage: the evidence lines about the images. On
   * a target that loads images (kind), loads the local images, builds the others it has a Dockerfile for,
   * and loads those under the manifest's name; elsewhere, says that images
   * cannot be loaded (so nothing is built).
   */
  async provide(
    session: TargetSession,
    images: readonly string[],
    /** The target can load images into its nodes (kind); false: an existing cluster. */
    canLoad: boolean,
    progress: (message: string) => void,
  ): Promise<Evidence[]> {
    const entries = await this.deps.repo.list();
    if (!canLoad) {
      const { builds } = planBuilds(images, entries, this.deps.settings);
      if (builds.length === 0) return [];
      return [
        ev(
          'images',
          `not built: an existing cluster's nodes pull their images and labgrader cannot load images into them, so ${builds
            .map((b) => `${b.image} (${b.dockerfile})`)
            .join(', ')} ${builds.length === 1 ? 'is' : 'are'} pulled by the nodes, not built from the repository`,
        ),
      ];
    }
    const local = await session.loadImages(images, progress);
    const { builds, skipped } = planBuilds(local.notLocal, entries, this.deps.settings);
    this.inNodes.push(...local.loaded);
    for (const spec of builds) {
      const built = await this.build(spec, progress);
      await this.load(session, built, progress);
      this.inNodes.push(built.image);
    }
    const parts = [
      local.loaded.length ? `loaded from the local Docker daemon: ${local.loaded.join(', ')}` : '',
      this.built.length
        ? `built from the repository and loaded: ${this.built.map((b) => `${b.image} (${b.dockerfile})`).join(', ')}`
        : '',
      skipped.length
        ? `not in the local Docker daemon (left to the node to pull): ${skipped.map((s) => `${s.image} (not built: ${s.why})`).join(', ')}`
        : '',
    ].filter(Boolean);
    const evidence = parts.length ? [ev('images', parts.join('; '))] : [];
    for (const b of this.built) {
      const spec = builds.find((s) => s.image === b.image);
      evidence.push(
        ev(
          'image-built',
          `${b.image}: built from ${b.dockerfile} (context ${shown(b.context)}; chosen by ${spec?.rule ?? 'images.build'}) with ${b.builder === 'buildkit' ? 'BuildKit' : 'the classic builder'} in ${b.seconds.toFixed(1)} s, ${mib(b.sizeBytes)}, ${this.deps.settings.buildNetwork === 'none' ? 'without network' : 'with the default network'}, no build cache; loaded into the cluster as ${b.image}`,
        ),
      );
    }
    return evidence;
  }

  /** Builds one image under a tag of this job's own; throws NotGradableError when it cannot. */
  async build(spec: BuildSpec, progress: (message: string) => void): Promise<BuiltImage> {
    const { settings, repo, job } = this.deps;
    const notGradable = (message: string, hint: string) =>
      new NotGradableError('image-build-failed', message, { hint });
    const read = await repo.readText(spec.dockerfile);
    if (!read.ok) {
      throw notGradable(`${spec.image} cannot be built: ${spec.dockerfile}: ${read.message}`, 'Fix the Dockerfile.');
    }
    const refused = refuseDockerfile(read.value, settings.buildNetwork);
    if (refused) {
      throw notGradable(
        `${spec.image} was not built from ${spec.dockerfile}: ${refused}`,
        'The grader builds images without network access. Put what the build downloads into the repository.',
      );
    }
    const builder = await this.detectBuilder();
    const hostTag = `labgrader-build/${job}-${this.built.length}:latest`;
    const args = [
      'build',
      ...(builder === 'buildkit' ? ['--progress', 'plain'] : ['--force-rm']),
      '--no-cache',
      '--network',
      settings.buildNetwork === 'none' ? 'none' : 'default',
      '--label',
      BUILT_BY_LABEL,
      '--label',
      `${BUILD_JOB_LABEL}=${job}`,
      '--tag',
      hostTag,
      '--file',
      path.join(repo.root, spec.dockerfile),
      spec.context ? path.join(repo.root, spec.context) : repo.root,
    ];
    progress(`building ${spec.image} from ${spec.dockerfile}`);
    const result = await this.tool({ DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' }).run(args, {
      timeoutMs: settings.buildTimeoutSeconds * 1000,
    });
    if (result.exitCode !== 0 || result.timedOut) {
      const failure = parseBuildFailure(result.stdout, result.stderr, builder);
      if (builder === 'legacy') await this.removeIntermediates(result.stdout);
      const { message, output } = failureText(failure);
      const where = failure.step ? ` in ${clip(redactSecrets(failure.step), 300)}` : '';
      const shownOutput = output ? `; its last output: ${output}` : '';
      if (result.timedOut) {
        throw notGradable(
          `building ${spec.image} from ${spec.dockerfile} took longer than the build time limit (${settings.buildTimeoutSeconds} s) and was stopped${where}${shownOutput}`,
          'Make the build faster (a smaller base image, fewer steps), or ask the instructor for a longer images.buildTimeoutSeconds.',
        );
      }
      if (failure.fromFailed) {
        throw notGradable(
          `${spec.image} cannot be built from ${spec.dockerfile}: its base image is not on the grading machine and could not be pulled${where}: ${message}`,
          'The grading machine has no access to that registry: build FROM an image the lab names as available (ask the instructor which), or FROM scratch with a static binary.',
        );
      }
      throw notGradable(
        `building ${spec.image} from ${spec.dockerfile} failed${where}: ${message}${shownOutput}`,
        settings.buildNetwork === 'none'
          ? 'Fix the Dockerfile so `docker build` works on a machine without network access (its RUN steps cannot download anything).'
          : 'Fix the Dockerfile so that `docker build` works.',
      );
    }
    const inspect = await this.tool().run(['image', 'inspect', '--format', '{{.Size}}', hostTag]);
    const sizeBytes = Number(inspect.stdout.trim());
    if (inspect.exitCode !== 0 || !Number.isFinite(sizeBytes)) {
      throw new NotGradableError(
        'image-build-failed',
        `the image built from ${spec.dockerfile} cannot be found: ${firstLine(inspect.stderr)}`,
        { hint: 'This is not your fault; try again, or report it.' },
      );
    }
    const built: BuiltImage = {
      image: spec.image,
      hostTag,
      dockerfile: spec.dockerfile,
      context: spec.context,
      seconds: result.durationMs / 1000,
      sizeBytes,
      builder,
      ...(builder === 'legacy' ? { stepImages: stepImages(result.stdout) } : {}),
    };
    // Removed with the job's other images, whatever happens next.
    this.built.push(built);
    const limit = settings.maxImageSizeMiB * 1024 * 1024;
    if (sizeBytes > limit) {
      throw notGradable(
        `the image built from ${spec.dockerfile} for ${spec.image} is ${mib(sizeBytes)}, more than the image size limit (${settings.maxImageSizeMiB} MiB)`,
        'Make the image smaller (a smaller base image, a multi-stage build that copies only the binary).',
      );
    }
    return built;
  }

  /** Loads a built image into every node and names it there exactly as the manifests do. */
  private async load(session: TargetSession, built: BuiltImage, progress: (message: string) => void): Promise<void> {
    const loaded = await session.loadImages([built.hostTag], progress);
    const access = session.nodeAccess;
    if (loaded.loaded.length !== 1 || !access) {
      throw new NotGradableError('cluster-unavailable', `the image built for ${built.image} could not be loaded`, {
        hint: 'This is not your fault; try again, or report it.',
      });
    }
    for (const node of await session.nodes()) {
      const tag = await access.exec(node, [
        'ctr',
        '--namespace=k8s.io',
        'images',
        'tag',
        '--force',
        normalizeReference(built.hostTag),
        normalizeReference(built.image),
      ]);
      if (tag.exitCode !== 0) {
        throw new NotGradableError(
          'cluster-unavailable',
          `the image built for ${built.image} could not be named in node ${node}: ${firstLine(tag.stderr || tag.stdout)}`,
          { hint: 'This is not your fault; try again, or report it.' },
        );
      }
    }
  }

  /**
   * A failed classic build leaves the images of its finished steps behind
   * (untagged), and a stopped one its step's container, still running for a
   * while after its client went: the container is killed now (the time limit
   * stops the student's code, not only the waiting), then the images removed.
   */
  private async removeIntermediates(stdout: string): Promise<void> {
    const containers = [...stdout.matchAll(/^ ---> Running in ([0-9a-f]{12,64})\s*$/gm)].map((m) => m[1]!);
    if (containers.length > 0) {
      await this.tool()
        .run(['container', 'rm', '--force', ...containers], { signal: null, timeoutMs: 60_000, unrecorded: true })
        .catch(() => undefined);
    }
    await this.removeImages(stepImages(stdout));
  }

  /** Untagged step images, newest first; without --force, so nothing a container uses goes. */
  private async removeImages(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.tool()
      .run(['image', 'rm', ...[...ids].reverse()], { signal: null, timeoutMs: 60_000 })
      .catch(() => undefined);
  }

  /**
   * Removes what this job built: the manifest names and host tags in the nodes
   * (a cluster that is reused must not serve this build to the next job), then
   * the host tags (and so the untagged layers under them). Never throws; one
   * line for the evidence, or undefined when nothing was built.
   */
  async remove(session: TargetSession): Promise<string | undefined> {
    if (this.built.length === 0) return undefined;
    const docker = this.tool();
    const problems: string[] = [];
    const step = async (what: string, run: () => Promise<{ exitCode: number; stderr: string }>) => {
      try {
        const r = await run();
        if (r.exitCode !== 0) problems.push(`${what}: ${firstLine(r.stderr)}`);
      } catch (err) {
        problems.push(`${what}: ${String(err)}`);
      }
    };
    const access = session.nodeAccess;
    if (access) {
      const nodes = await session.nodes().catch((): string[] => []);
      const refs = this.built.flatMap((b) => [normalizeReference(b.image), normalizeReference(b.hostTag)]);
      for (const node of nodes) {
        // Best effort: a node that is already gone has nothing left to remove.
        await access.docker
          .run(['exec', node, 'ctr', '--namespace=k8s.io', 'images', 'rm', ...refs], {
            signal: null,
            timeoutMs: 60_000,
          })
          .catch(() => undefined);
      }
    }
    const tags = this.built.map((b) => b.hostTag);
    await step(`docker image rm ${tags.join(' ')}`, () =>
      docker.run(['image', 'rm', '--force', ...tags], { signal: null, timeoutMs: 120_000 }),
    );
    // The earlier stages of multi-stage builds (most are gone with the tag: missing ones are no problem).
    await this.removeImages(this.built.flatMap((b) => b.stepImages ?? []));
    if (problems.length) {
      this.deps.logger.warn('built images could not be removed', { images: tags, problems });
      return `built images not removed (labelled ${BUILT_BY_LABEL} for the janitor): ${problems.join('; ')}`;
    }
    return `removed the built image${tags.length === 1 ? '' : 's'} ${tags.join(', ')} from the Docker daemon and the nodes`;
  }
}

function ev(label: string, detail: string): Evidence {
  return { checkId: 'cluster/deploys-ready', label, detail };
}
