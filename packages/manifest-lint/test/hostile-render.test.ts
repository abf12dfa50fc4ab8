/**
 * Students' kustomizations and charts rendered as untrusted input, for real:
 * the real kubectl (and helm, where built), a loopback HTTP server that
 * counts every request, and another git repository on disk that kustomize
 * could clone. Hostile entries must be refused at their line, before any
 * renderer runs; the sandbox (no network, private home, git transports off)
 * must hold even when a kustomization reaches kustomize unchecked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CommandNotFoundError, type CommandOptions, type CommandRunner, type Logger } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { defaultLintSettings, discoverObjects, type Discovery } from '../src/index.js';
import { runRenderer } from '../src/render/run.js';
import {
  createPrivateHome,
  networkIsolationFor,
  noNetworkIsolation,
  unshareNetworkIsolation,
  UNSHARE_CANDIDATES,
  type NetworkIsolation,
} from '../src/render/sandbox.js';
import { scriptedRunner } from './helpers/fake-runner.js';
import { helmAvailable, realRunner, warnHelmNotRun } from './helpers/real-tools.js';
import { tempRepo } from './helpers/temp-repo.js';

// ---------------------------------------------------------------- fixtures

/** Every request the loopback server received ("GET /x"). */
const requests: string[] = [];
let server: Server;
let url: string;
/** Another repository on disk (working tree and bare clone) that a kustomization must not be able to read. */
let victim: { dir: string; bare: string; marker: string };

const STOLEN_CONFIGMAP = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  s: secret\n`;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.end(STOLEN_CONFIGMAP('fetched-over-http'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const dir = mkdtempSync(path.join(tmpdir(), 'labgrader-victim-'));
  const marker = `stolen-${path
    .basename(dir)
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
  mkdirSync(path.join(dir, 'src/k8s'), { recursive: true });
  writeFileSync(path.join(dir, 'src/k8s/cm.yaml'), STOLEN_CONFIGMAP(marker));
  writeFileSync(path.join(dir, 'src/k8s/kustomization.yaml'), 'resources: [cm.yaml]\n');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: path.join(dir, 'src'),
      stdio: 'pipe',
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'victim');
  git('clone', '-q', '--bare', '.', path.join(dir, 'other.git'));
  victim = { dir, bare: path.join(dir, 'other.git'), marker };
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(victim.dir, { recursive: true, force: true });
});

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  A: "1"\n';
const lines = (...l: string[]) => `${l.join('\n')}\n`;

/** `file:line` of every line carrying `# expect: lint/render` (as in the rule fixtures). */
function markedLines(files: Record<string, string>): string[] {
  return Object.entries(files)
    .flatMap(([file, text]) =>
      text.split('\n').flatMap((line, i) => (/# expect: lint\/render\s*$/.test(line) ? [`${file}:${i + 1}`] : [])),
    )
    .sort();
}

interface Call {
  command: string;
  args: readonly string[];
  env: CommandOptions['env'];
  /** Whether the private home existed while the command ran. */
  homeExisted: boolean;
}

/** Records what runs (and the home it was given), delegating to `inner`. */
function recording(inner: CommandRunner): CommandRunner & { calls: Call[]; ran: (program: string) => boolean } {
  const calls: Call[] = [];
  return {
    calls,
    // By name or by path (LABGRADER_KUBECTL, LABGRADER_HELM), directly or under unshare.
    ran: (program) =>
      calls.some(
        (c) =>
          path.basename(c.command) === program ||
          (path.basename(c.command) === 'unshare' && c.args.some((a) => path.basename(a) === program)),
      ),
    run(command, args, options) {
      const home = options?.env?.HOME;
      calls.push({ command, args, env: options?.env, homeExisted: home !== undefined && existsSync(home) });
      return inner.run(command, args, options);
    },
  };
}

/** The real runner on a machine without unshare: renderers get no network isolation, only the checks protect. */
function withoutUnshare(inner: CommandRunner): CommandRunner {
  return {
    run: (command, args, options) =>
      command === 'unshare' ? Promise.reject(new CommandNotFoundError('unshare')) : inner.run(command, args, options),
  };
}

async function discover(
  files: Record<string, string>,
  runner: CommandRunner,
  prepare?: (dir: string) => void,
): Promise<Discovery> {
  const repo = tempRepo(files);
  try {
    prepare?.(repo.dir);
    return await discoverObjects({ repo: await openRepoFiles(repo.dir), settings: defaultLintSettings(), runner });
  } finally {
    repo.cleanup();
  }
}

function renderProblems(d: Discovery) {
  return d.problems.filter((p) => p.checkId === 'lint/render');
}

// ---------------------------------------------------------------- hostile kustomizations

interface HostileCase {
  files: () => Record<string, string>;
  /** What the message must say (why, and what to do). */
  message: RegExp;
  prepare?: (dir: string) => void;
  /** Objects linted as written (default: the ConfigMap every case commits). */
  asWritten?: string[];
  /** Where the refusals are, when a file cannot carry `# expect:` markers. */
  expectAt?: string[];
}

const COMMITTED = /labgrader renders only what is committed/;

const hostile: Record<string, HostileCase> = {
  'configurations: [http://…] (the reported attack)': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'configurations:',
        `  - ${url}/x # expect: lint/render`,
      ),
    }),
    message: /configurations entry ".*\/x" is a remote reference .*vendor those files into the repository/,
  },
  'transformers: [http://…]': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        `transformers: # expect: lint/render`,
        `  - ${url}/t`,
      ),
    }),
    message: /"transformers" loads kustomize plugins.*use the built-in fields instead \(patches, replacements/,
  },
  'generators: [file:///other/repo//k8s] (clones another repository)': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'generators: # expect: lint/render',
        `  - file://${victim.bare}//k8s`,
      ),
    }),
    message: /"generators" loads kustomize plugins, whose configurations can download files, clone repositories/,
  },
  'resources: [file:///other/repo//k8s]': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources:',
        '  - configmap.yaml',
        `  - file://${victim.dir}/src//k8s # expect: lint/render`,
      ),
    }),
    message: /is a remote reference/,
  },
  'validators: [http://…]': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines('resources: [configmap.yaml]', `validators: [${url}/v] # expect: lint/render`),
    }),
    message: /"validators" loads kustomize plugins/,
  },
  'openapi: {path: http://…}': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'openapi:',
        `  path: ${url}/schema.json # expect: lint/render`,
      ),
    }),
    message: /openapi\.path entry ".*schema\.json" is a remote reference/,
  },
  'replacements: [{path: http://…}]': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'replacements:',
        `  - path: ${url}/r.yaml # expect: lint/render`,
      ),
    }),
    message: /replacements\.path entry ".*r\.yaml" is a remote reference/,
  },
  'helmCharts: [{repo: http://…}] and helmGlobals': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'helmCharts: # expect: lint/render',
        `  - { name: web, repo: ${url}/charts, version: 1.0.0 }`,
        'helmGlobals: # expect: lint/render',
        '  chartHome: /srv/charts',
      ),
    }),
    message:
      /"helm(Charts|Globals)" makes kustomize download and inflate a Helm chart.*commit the output of `helm template`/,
  },
  'inline generator with files: [k=http://…/secret]': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'configMapGenerator:',
        '  - name: leak',
        '    files:',
        `      - k=${url}/secret # expect: lint/render`,
        '    envs:',
        `      - ${url}/env # expect: lint/render`,
        '    literals: [SAFE=1]',
        'secretGenerator:',
        `  - { name: leak2, env: "${url}/env2" } # expect: lint/render`,
      ),
    }),
    message:
      /configMapGenerator\.files entry "k=http:.*" is a remote reference|\.envs? entry "http.*" is a remote reference/,
  },
  'absolute paths (host files into a ConfigMap, a patch from /etc)': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'configMapGenerator:',
        '  - name: host',
        '    files: [/etc/hostname] # expect: lint/render',
        'patches:',
        '  - path: /etc/passwd # expect: lint/render',
      ),
    }),
    message:
      /is an absolute path, which would be read on the grading machine.*relative to the kustomization's directory/,
  },
  'resources: [../../outside] (escapes the repository)': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines('resources:', '  - configmap.yaml', '  - ../../outside # expect: lint/render'),
    }),
    message: /"\.\.\/\.\.\/outside" points outside the repository/,
  },
  'git forms: github.com/…, git::, gh:, scp, ?ref=, .git': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources:',
        '  - configmap.yaml',
        '  - github.com/acme/lab/k8s # expect: lint/render',
        '  - git::https://example.com/acme/lab.git # expect: lint/render',
        '  - gh:acme/lab # expect: lint/render',
        '  - git@github.com:acme/lab.git # expect: lint/render',
        '  - base?ref=main # expect: lint/render',
        '  - lab.git/k8s # expect: lint/render',
        '  - example.com/acme/lab//k8s # expect: lint/render',
      ),
    }),
    message: /is a remote reference \(a URL or a git repository\)/,
  },
  'overlay → base, where the base is the hostile one': {
    files: () => ({
      'k8s/base/configmap.yaml': configMap,
      'k8s/base/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        `configurations: [${url}/base] # expect: lint/render`,
      ),
      'k8s/overlays/prod/kustomization.yaml': lines('resources: [../../base]', 'namePrefix: prod-'),
    }),
    message: /k8s\/base\/kustomization\.yaml: configurations entry/,
  },
  'a hostile base in an excluded directory (vendor/)': {
    files: () => ({
      'vendor/base/configmap.yaml': configMap,
      'vendor/base/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        `transformers: [${url}/vendored] # expect: lint/render`,
      ),
      'k8s/kustomization.yaml': lines('resources: [../vendor/base]'),
    }),
    message: /vendor\/base\/kustomization\.yaml: "transformers" loads kustomize plugins/,
    asWritten: [], // vendor/ is excluded from linting; its kustomization is still checked because the tree uses it
  },
  'a hostile base reached through a symlinked directory': {
    files: () => ({
      'k8s/real/configmap.yaml': configMap,
      'k8s/real/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'configMapGenerator:',
        `  - { name: x, files: ["k=${url}/through-symlink"] } # expect: lint/render`,
      ),
      'k8s/overlay/kustomization.yaml': lines('resources: [../linked]'),
    }),
    prepare: (dir) => symlinkSync('real', path.join(dir, 'k8s/linked')),
    message: /is a remote reference/,
  },
  'a kind: Component with a hostile field': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/comp/kustomization.yaml': lines(
        'apiVersion: kustomize.config.k8s.io/v1alpha1',
        'kind: Component',
        `validators: [${url}/component] # expect: lint/render`,
      ),
      'k8s/kustomization.yaml': lines('resources: [configmap.yaml]', 'components: [comp]'),
    }),
    message: /k8s\/comp\/kustomization\.yaml: "validators" loads kustomize plugins/,
  },
  'unknown fields, including case variants kustomize would accept': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        'inventory: { type: ConfigMap } # expect: lint/render',
        `Configurations: [${url}/case] # expect: lint/render`,
        'patches:',
        `  - Path: ${url}/nested-case # expect: lint/render`,
      ),
    }),
    message:
      /is not a field labgrader accepts in (a kustomization|a patches entry).*(remove it or fix its spelling|write it exactly "(configurations|path)")/,
  },
  'a base whose kustomization.yaml is a symlink out of the repository': {
    files: () => ({
      'k8s/base/configmap.yaml': configMap,
      'k8s/overlay/kustomization.yaml': 'resources: [../base] # expect: lint/render\n',
    }),
    prepare: (dir) =>
      symlinkSync(path.join(victim.dir, 'src/k8s/kustomization.yaml'), path.join(dir, 'k8s/base/kustomization.yaml')),
    message:
      /k8s\/overlay\/kustomization\.yaml was not rendered: k8s\/base\/kustomization\.yaml is a symlink pointing outside/,
  },
  'a base kustomization labgrader cannot read (not UTF-8)': {
    files: () => ({
      'k8s/base/configmap.yaml': configMap,
      'k8s/overlay/kustomization.yaml': 'resources: [../base]\n',
    }),
    prepare: (dir) =>
      writeFileSync(
        path.join(dir, 'k8s/base/kustomization.yaml'),
        Buffer.concat([Buffer.from(`# caf\xe9\nconfigurations: [${url}/latin1]\n`, 'latin1')]),
      ),
    expectAt: ['k8s/base/kustomization.yaml:1'],
    message:
      /k8s\/base\/kustomization\.yaml could not be read .*labgrader cannot check what kustomize would load from it/,
  },
  'a kustomization with YAML errors': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources: [configmap.yaml]',
        `configurations: [${url}/unclosed # expect: lint/render`,
      ),
    }),
    message: /has YAML errors .*did not render it; fix the YAML first/,
  },
  'a duplicate key hiding a second resources list': {
    files: () => ({
      'k8s/configmap.yaml': configMap,
      'k8s/kustomization.yaml': lines(
        'resources:',
        '  - configmap.yaml',
        'resources:',
        `  - ${url}/dup.yaml # expect: lint/render`,
      ),
    }),
    message: /is a remote reference/,
  },
};

describe.each([
  ['with the sandbox this machine allows', () => realRunner()],
  ['without network isolation (no unshare): the checks alone', () => withoutUnshare(realRunner())],
])('hostile kustomizations, %s', (_label, makeRunner) => {
  it.each(Object.entries(hostile))('refuses %s at its line, runs nothing, fetches nothing', async (_name, c) => {
    const files = c.files();
    const before = requests.length;
    const runner = recording(makeRunner());
    const discovery = await discover(files, runner, c.prepare);

    const problems = renderProblems(discovery);
    expect(problems.map((p) => `${p.location.file}:${p.location.line}`).sort()).toEqual(
      c.expectAt ?? markedLines(files),
    );
    for (const p of problems) {
      expect(p.severity).toBe('error');
      expect(p.message).toMatch(c.message);
      expect(p.message).toMatch(
        new RegExp(`${COMMITTED.source}|not a field labgrader accepts|not rendered|fix the YAML`),
      );
    }
    // Nothing was rendered, so nothing was fetched, cloned or read off the host.
    expect(runner.ran('kubectl')).toBe(false);
    expect(requests.slice(before)).toEqual([]);
    expect(discovery.objects.some((o) => o.name === victim.marker)).toBe(false);
    // The student still gets feedback on the resources as written.
    expect(discovery.objects.map((o) => `${o.kind}/${o.name}`)).toEqual(c.asWritten ?? ['ConfigMap/app']);
    expect(discovery.objects.every((o) => o.toRef().rendered !== true)).toBe(true);
  });
});

// ---------------------------------------------------------------- legitimate kustomizations

describe('a legitimate kustomization still renders', () => {
  const legit = {
    'k8s/base/deployment.yaml': lines(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  selector: { matchLabels: { app: web } }',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: ghcr.io/acme/web:1.0.0',
    ),
    'k8s/base/kustomization.yaml': lines(
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources: [deployment.yaml]',
      'configMapGenerator:',
      '  - name: settings',
      '    files: [app.properties, renamed.txt=notes.txt]',
      '    envs: [settings.env]',
      '    literals: [MODE=prod]',
      'configurations: [name-reference.yaml]',
      'replacements:',
      '  - path: replacement.yaml',
    ),
    'k8s/base/app.properties': 'greeting=hello\n',
    'k8s/base/notes.txt': 'committed notes\n',
    'k8s/base/settings.env': 'LEVEL=info\n',
    'k8s/base/name-reference.yaml': lines('nameReference:', '  - kind: ConfigMap', '    fieldSpecs: []'),
    'k8s/base/replacement.yaml': lines(
      'source: { kind: ConfigMap, name: settings, fieldPath: metadata.name }',
      'targets:',
      '  - select: { kind: Deployment }',
      '    fieldPaths: [metadata.annotations.settings]',
      '    options: { create: true }',
    ),
    'k8s/overlays/prod/kustomization.yaml': lines(
      'resources: [../../base]',
      'namePrefix: prod-',
      'patches:',
      '  - path: replicas.yaml',
      'images:',
      '  - { name: ghcr.io/acme/web, newTag: 1.0.1 }',
    ),
    'k8s/overlays/prod/replicas.yaml': lines(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: web }',
      'spec: { replicas: 2 }',
    ),
  };

  it.each([
    ['with the sandbox', () => realRunner()],
    ['without unshare', () => withoutUnshare(realRunner())],
  ])('overlay + base + configMapGenerator from local files (%s)', async (_label, makeRunner) => {
    const runner = recording(makeRunner());
    const discovery = await discover(legit, runner);
    expect(renderProblems(discovery)).toEqual([]);
    const byName = new Map(discovery.objects.map((o) => [o.name, o]));
    expect([...byName.keys()].sort()).toEqual([expect.stringMatching(/^prod-settings-/), 'prod-web']);
    const settings = discovery.objects.find((o) => o.kind === 'ConfigMap')!;
    expect(settings.get(['data'])).toEqual({
      'app.properties': 'greeting=hello\n',
      'renamed.txt': 'committed notes\n',
      LEVEL: 'info',
      MODE: 'prod',
    });
    const web = byName.get('prod-web')!;
    expect(web.get(['spec', 'replicas'])).toBe(2);
    // The replacement (read from a committed file) ran in the base, before the overlay's prefix and the hash.
    expect(web.get(['metadata', 'annotations', 'settings'])).toBe('settings');
    expect(discovery.objects.every((o) => o.toRef().rendered)).toBe(true);
    // kubectl by name, or by the path LABGRADER_KUBECTL gives (test/kind-offline/env.sh sets it), maybe under unshare.
    const isKubectl = (word: string) => path.basename(word) === 'kubectl';
    expect(runner.calls.filter((c) => isKubectl(c.command) || c.args.some(isKubectl))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- the sandbox itself

/** Node fetching the loopback server: prints the status, or exits 3 when it cannot connect. */
const fetchScript = (target: string) =>
  `fetch(${JSON.stringify(target)}).then((r) => console.log(r.status), (e) => { console.error(String(e.cause ?? e)); process.exit(3); })`;

/** Can this machine make a network namespace at all (decided before the tests, so a skip is a visible skip)? */
const unshareWorks = UNSHARE_CANDIDATES.some(
  (flags) => spawnSync('unshare', [...flags, '--', 'true'], { stdio: 'ignore' }).status === 0,
);
if (!unshareWorks)
  console.warn('NOT RUN (not counted): the network isolation tests need `unshare --net` (root) or user namespaces');
const itIsolated = unshareWorks ? it : it.skip;

describe('network isolation (unshare)', () => {
  let isolation: NetworkIsolation;
  beforeAll(async () => {
    isolation = await networkIsolationFor(createExecaRunner());
  });

  itIsolated('is detected on this machine', () => {
    expect(isolation.isolated).toBe(true);
    expect(isolation.description).toMatch(/^renderers run without network \(unshare --net/);
  });

  itIsolated(
    'stops a wrapped program from reaching the loopback server; the same program unwrapped reaches it',
    async () => {
      const runner = createExecaRunner();
      const options = { root: tmpdir(), timeoutMs: 20_000 };
      const before = requests.length;
      const blocked = await runRenderer(runner, process.execPath, ['-e', fetchScript(`${url}/from-sandbox`)], {
        ...options,
        network: isolation,
      });
      expect(blocked).toMatchObject({ ok: false, reason: 'failed' });
      expect(requests.slice(before)).toEqual([]);
      // Control: the server and the script work; only the namespace stopped them.
      const open = await runRenderer(runner, process.execPath, ['-e', fetchScript(`${url}/control`)], {
        ...options,
        network: noNetworkIsolation('control'),
      });
      expect(open).toEqual({ ok: true, stdout: '200\n' });
      expect(requests.slice(before)).toEqual(['GET /control']);
    },
  );

  itIsolated('keeps kustomize from fetching even when a hostile kustomization reaches it unchecked', async () => {
    const repo = tempRepo({ 'kustomization.yaml': `configurations: [${url}/unchecked]\n` });
    try {
      const before = requests.length;
      const run = (network: NetworkIsolation) =>
        runRenderer(createExecaRunner(), 'kubectl', ['kustomize', repo.dir], {
          root: repo.dir,
          timeoutMs: 30_000,
          network,
        });
      const sandboxed = await run(isolation);
      expect(sandboxed.ok).toBe(false);
      expect(requests.slice(before)).toEqual([]);
      // Control: without the namespace, this kustomization does make the grading host send a request.
      await run(noNetworkIsolation('control'));
      expect(requests.slice(before)).toEqual(['GET /unchecked']);
    } finally {
      repo.cleanup();
    }
  });

  itIsolated('reports a missing renderer as missing-tool, not as a failure of unshare', async () => {
    const outcome = await runRenderer(createExecaRunner(), 'labgrader-no-such-renderer', ['kustomize'], {
      root: tmpdir(),
      timeoutMs: 10_000,
      network: isolation,
    });
    expect(outcome).toEqual({
      ok: false,
      reason: 'missing-tool',
      message: "'labgrader-no-such-renderer' is not installed or not on PATH",
    });
  });
});

describe('network isolation detection (scripted)', () => {
  const logs: string[] = [];
  const logger: Logger = {
    debug: (m) => logs.push(m),
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => logger,
  };

  it('falls back to no isolation when unshare is not installed, says so in a debug log, and probes once', async () => {
    const runner = scriptedRunner((command) => (command === 'unshare' ? 'missing' : { stdout: 'ok' }));
    const first = await networkIsolationFor(runner, logger);
    const second = await networkIsolationFor(runner, logger);
    expect(second).toBe(first);
    expect(first.isolated).toBe(false);
    expect(first.wrap('kubectl', ['kustomize', 'k8s'])).toEqual({ command: 'kubectl', args: ['kustomize', 'k8s'] });
    expect(logs).toEqual(["renderers run with the host's network (unshare is not installed)"]);
    expect(runner.calls).toEqual([{ command: 'unshare', args: ['--net', '--', 'true'] }]);
  });

  it('uses --map-root-user when plain --net is not permitted (unprivileged user)', async () => {
    const runner = scriptedRunner((_command, args) =>
      args.includes('--map-root-user')
        ? { exitCode: 0 }
        : { exitCode: 1, stderr: 'unshare: unshare failed: Operation not permitted' },
    );
    const isolation = await networkIsolationFor(runner, logger);
    expect(isolation.isolated).toBe(true);
    expect(isolation.wrap('helm', ['template', 'r', 'chart'])).toEqual({
      command: 'unshare',
      args: ['--net', '--map-root-user', '--', 'helm', 'template', 'r', 'chart'],
    });
  });

  it('maps "unshare: failed to execute kubectl" (exit 127) to missing-tool', async () => {
    const runner = scriptedRunner(() => ({
      exitCode: 127,
      stderr: 'unshare: failed to execute kubectl: No such file or directory\n',
    }));
    const outcome = await runRenderer(runner, 'kubectl', ['kustomize', 'k8s'], {
      root: '/repo',
      timeoutMs: 1000,
      network: unshareNetworkIsolation(['--net']),
    });
    expect(outcome).toEqual({
      ok: false,
      reason: 'missing-tool',
      message: "'kubectl' is not installed or not on PATH",
    });
    expect(runner.calls).toEqual([{ command: 'unshare', args: ['--net', '--', 'kubectl', 'kustomize', 'k8s'] }]);
  });
});

describe('defense in depth: git transports are off for renderers', () => {
  it('a file:// base reaching kustomize unchecked is not cloned; the same base outside the sandbox is', async () => {
    const repo = tempRepo({ 'kustomization.yaml': `resources:\n  - file://${victim.bare}//k8s\n` });
    try {
      const sandboxed = await runRenderer(createExecaRunner(), 'kubectl', ['kustomize', repo.dir], {
        root: repo.dir,
        timeoutMs: 30_000,
        network: noNetworkIsolation('testing the git settings alone'),
      });
      expect(sandboxed.ok).toBe(false);
      expect(JSON.stringify(sandboxed)).toMatch(/transport 'file' not allowed/);
      expect(JSON.stringify(sandboxed)).not.toContain(victim.marker);
      // Control: plain kubectl with an ordinary environment does clone the other repository.
      const home = mkdtempSync(path.join(tmpdir(), 'labgrader-control-home-'));
      try {
        const plain = await createExecaRunner().run('kubectl', ['kustomize', repo.dir], {
          isolateEnv: true,
          env: { HOME: home },
          timeoutMs: 30_000,
        });
        expect(plain.stdout).toContain(`name: ${victim.marker}`);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    } finally {
      repo.cleanup();
    }
  });
});

// ---------------------------------------------------------------- private home

describe('private home per render', () => {
  it('gives each render its own HOME (0700, empty kubeconfig), removed afterwards', async () => {
    const runner = recording(realRunner());
    const discovery = await discover(
      {
        'a/configmap.yaml': configMap,
        'a/kustomization.yaml': 'resources: [configmap.yaml]\nnamePrefix: a-\n',
        'b/configmap.yaml': configMap,
        'b/kustomization.yaml': 'resources: [configmap.yaml]\nnamePrefix: b-\n',
      },
      runner,
    );
    expect(discovery.objects.map((o) => o.name).sort()).toEqual(['a-app', 'b-app']);
    const renders = runner.calls.filter((c) => c.args.includes('kustomize'));
    expect(renders).toHaveLength(2);
    const homes = renders.map((c) => c.env?.HOME as string);
    expect(new Set(homes).size).toBe(2);
    for (const call of renders) {
      expect(call.homeExisted).toBe(true);
      const privateDir = path.dirname(call.env!.HOME!);
      expect(path.basename(privateDir)).toMatch(/^labgrader-render-/);
      expect(call.env!.KUBECONFIG).toBe(path.join(privateDir, 'kubeconfig'));
      expect(call.env!.XDG_CONFIG_HOME?.startsWith(privateDir)).toBe(true);
      expect(call.env!.HELM_REPOSITORY_CONFIG?.startsWith(privateDir)).toBe(true);
      expect(call.env!.TMPDIR?.startsWith(privateDir)).toBe(true);
      expect(existsSync(privateDir)).toBe(false);
    }
  });

  it('the renderer sees only a minimal environment: no KUBECONFIG, DOCKER_HOST or other variables of the grader', async () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, DOCKER_HOST: process.env.DOCKER_HOST };
    process.env.KUBECONFIG = '/home/grader/.kube/production-cluster';
    process.env.DOCKER_HOST = 'tcp://docker.internal:2375';
    process.env.LABGRADER_TEST_SECRET = 'do-not-leak';
    const parent = mkdtempSync(path.join(tmpdir(), 'labgrader-homes-'));
    try {
      const outcome = await runRenderer(
        createExecaRunner(),
        process.execPath,
        ['-e', 'console.log(JSON.stringify(process.env))'],
        {
          root: tmpdir(),
          timeoutMs: 10_000,
          network: noNetworkIsolation('environment test'),
          createHome: () => createPrivateHome(parent),
        },
      );
      expect(outcome.ok).toBe(true);
      const env = JSON.parse(outcome.ok ? outcome.stdout : '{}') as Record<string, string>;
      const privateDir = path.dirname(env.HOME!);
      expect(path.dirname(privateDir)).toBe(parent);
      expect(env.KUBECONFIG).toBe(path.join(privateDir, 'kubeconfig'));
      expect(env.DOCKER_HOST).toBeUndefined();
      expect(env.LABGRADER_TEST_SECRET).toBeUndefined();
      expect(env.GIT_ALLOW_PROTOCOL).toBe('labgrader-none');
      expect(
        Object.keys(env).filter(
          (k) => !/^(PATH|LANG|HOME|TMPDIR|KUBECONFIG|XDG_\w+|HELM_\w+|KUSTOMIZE_PLUGIN_HOME|GIT_\w+)$/.test(k),
        ),
      ).toEqual([]);
      // Removed afterwards.
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      delete process.env.LABGRADER_TEST_SECRET;
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('removes the private home when the renderer times out', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'labgrader-homes-'));
    try {
      const outcome = await runRenderer(createExecaRunner(), process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
        root: tmpdir(),
        timeoutMs: 300,
        network: noNetworkIsolation('timeout test'),
        createHome: () => createPrivateHome(parent),
      });
      expect(outcome).toMatchObject({ ok: false, reason: 'timed-out' });
      expect(readdirSync(parent)).toEqual([]);
      expect(statSync(parent).isDirectory()).toBe(true);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- Helm

describe('hostile Helm charts', () => {
  warnHelmNotRun('the hostile Helm chart tests');
  const itHelm = helmAvailable ? it : it.skip;

  const probeChart = () => ({
    'chart/Chart.yaml': 'apiVersion: v2\nname: probe\nversion: 0.1.0\n',
    'chart/values.yaml': 'a: x\nb: y\n',
    // helm validates values against this schema, loading every $ref: over HTTP, or off the host's disk.
    'chart/values.schema.json': JSON.stringify({
      properties: { a: { $ref: `${url}/schema.json` }, b: { $ref: 'file:///etc/hostname' } },
    }),
    'chart/templates/probe.yaml': lines(
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: probe',
      'data:',
      '  dns: {{ getHostByName "localhost" | quote }}',
      '  lookup: {{ lookup "v1" "Secret" "kube-system" "" | toJson | quote }}',
      '  outside: {{ .Files.Get "../../../../etc/hostname" | quote }}',
    ),
  });

  itHelm.each([
    ['with the sandbox', () => realRunner()],
    ['without unshare', () => withoutUnshare(realRunner())],
  ])(
    'renders a probing chart with no request, no DNS answer, no cluster and no host file (%s)',
    async (_label, makeRunner) => {
      const before = requests.length;
      const discovery = await discover(probeChart(), recording(makeRunner()));
      expect(renderProblems(discovery)).toEqual([]);
      expect(requests.slice(before)).toEqual([]);
      const probe = discovery.objects.find((o) => o.name === 'probe')!;
      // helm answers getHostByName only with --enable-dns (never passed); lookup is empty without a cluster;
      // .Files holds only the chart's own files.
      expect(probe.get(['data'])).toEqual({ dns: '', lookup: '{}', outside: '' });
    },
  );

  itHelm('refuses a chart whose dependencies are not vendored, at the dependency, without running helm', async () => {
    const runner = recording(realRunner());
    const files = {
      'chart/Chart.yaml': lines(
        'apiVersion: v2',
        'name: web',
        'version: 0.1.0',
        'dependencies:',
        `  - name: redis # expect: lint/render`,
        '    version: ^17.0.0',
        `    repository: ${url}/charts`,
        '  - name: common',
        '    version: 1.x',
        '    repository: file://../common',
      ),
      'chart/charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 1.2.0\ntype: library\n',
      'chart/templates/cm.yaml': lines('apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: web'),
    };
    const before = requests.length;
    const discovery = await discover(files, runner);
    const problems = renderProblems(discovery);
    expect(problems.map((p) => `${p.location.file}:${p.location.line}`)).toEqual(markedLines(files));
    expect(problems[0]?.message).toBe(
      `chart/Chart.yaml depends on the chart "redis" from ${url}/charts, which is not in chart/charts/: labgrader renders only what is committed and never downloads charts, so run \`helm dependency build\` and commit charts/, or remove the dependency`,
    );
    expect(runner.ran('helm')).toBe(false);
    expect(requests.slice(before)).toEqual([]);
  });

  itHelm('renders a chart whose dependency is vendored as an unpacked chart', async () => {
    const discovery = await discover(
      {
        'chart/Chart.yaml': lines(
          'apiVersion: v2',
          'name: web',
          'version: 0.1.0',
          'dependencies:',
          '  - { name: common, version: 1.x, repository: "file://../common" }',
        ),
        'chart/charts/common-lib/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 1.2.0\n',
        'chart/charts/common-lib/templates/cm.yaml': lines(
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: from-common',
        ),
        'chart/templates/cm.yaml': lines('apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: web'),
      },
      realRunner(),
    );
    expect(renderProblems(discovery)).toEqual([]);
    expect(discovery.objects.map((o) => o.name).sort()).toEqual(['from-common', 'web']);
  });
});
