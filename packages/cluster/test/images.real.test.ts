/**
 * Student images against the real Docker engine (no cluster): a submission's
 * Dockerfile is built as the cluster stage builds it (src/images.ts), and
 * each way a build cannot work is reported precisely and leaves nothing
 * behind. `docker pull` cannot work here (no registry), so the images are
 * `FROM scratch` with a static Go binary built by this test; the binary also
 * proves the build's RUN steps have no network.
 *
 * Runs where a Docker engine answers and Go is installed; otherwise it says
 * so loudly and is skipped. The cluster side (loading the build into kind
 * under the manifest's name) is graded for real with examples/lab-85-student-image.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotGradableError, silentLogger, systemClock } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { Transcript } from '../src/commands.js';
import { BUILD_JOB_LABEL, StudentImages, type BuildSpec } from '../src/images.js';
import { clusterSettingsSchema } from '../src/settings.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

const sh = (command: string, args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

function missing(): string | undefined {
  if (sh('docker', ['info', '--format', '{{.ServerVersion}}']).status !== 0) return 'no Docker engine answers';
  if (sh('go', ['version']).status !== 0) return 'Go is not installed (the test builds a static binary)';
  return undefined;
}
const why = missing();
if (why) {
  console.warn(
    [
      '######################################################################',
      '##  REAL DOCKER BUILD TESTS OF STUDENT IMAGES: NOT RUN (not counted)',
      `##  ${why}`,
      '######################################################################',
    ].join('\n'),
  );
}
const real = why ? describe.skip : describe;

/** A static binary: prints hello; `net` dials the Docker host's bridge; `sleep` sleeps a minute. */
const MAIN_GO = `package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "net" {
		c, err := net.DialTimeout("tcp", "172.17.0.1:9", 2*time.Second)
		if err != nil {
			fmt.Println("no network:", err)
			os.Exit(3)
		}
		c.Close()
		fmt.Println("network reachable")
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(60 * time.Second)
	}
	fmt.Println("hello from the student's image")
}
`;

let lab: string;
const job = `t${process.pid.toString(16).slice(-5)}`;

beforeAll(() => {
  if (why) return;
  lab = mkdtempSync(path.join(tmpdir(), 'labgrader-images-real-'));
  const src = path.join(lab, 'src');
  mkdirSync(path.join(lab, 'app'), { recursive: true });
  mkdirSync(src);
  writeFileSync(path.join(src, 'go.mod'), 'module hello\n\ngo 1.22\n');
  writeFileSync(path.join(src, 'main.go'), MAIN_GO);
  const built = spawnSync(
    'go',
    ['build', '-trimpath', '-ldflags', '-s -w', '-o', path.join(lab, 'app', 'hello'), '.'],
    {
      cwd: src,
      encoding: 'utf8',
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
      timeout: 120_000,
    },
  );
  if (built.status !== 0) throw new Error(`go build: ${built.stderr}`);
}, 120_000);

afterAll(() => {
  if (why) return;
  rmSync(lab, { recursive: true, force: true });
  // Nothing of this test's builds is left, whatever a failed assertion skipped.
  const left = sh('docker', ['image', 'ls', '-q', '--filter', `label=${BUILD_JOB_LABEL}=${job}`]).stdout.trim();
  if (left) sh('docker', ['image', 'rm', '--force', ...left.split(/\s+/)]);
});

function images(settings: Record<string, unknown> = {}) {
  const transcript = new Transcript(systemClock, systemClock.monotonicMs());
  return async () =>
    new StudentImages({
      runner: createExecaRunner(),
      transcript,
      logger: silentLogger,
      signal: new AbortController().signal,
      docker: 'docker',
      job,
      repo: await openRepoFiles(lab),
      settings: clusterSettingsSchema.parse({ images: settings }).images,
    });
}

function dockerfile(name: string, text: string): BuildSpec {
  writeFileSync(path.join(lab, 'app', name), text);
  return { image: 'ghcr.io/student/hello:1', context: 'app', dockerfile: `app/${name}`, rule: 'test' };
}

const allImages = () => sh('docker', ['images', '-a', '-q']).stdout.trim().split(/\s+/).filter(Boolean).sort();
const running = () => sh('docker', ['ps', '-q', '--filter', 'ancestor=scratch']).stdout.trim();

async function failure(promise: Promise<unknown>): Promise<NotGradableError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NotGradableError);
  expect((err as NotGradableError).reason).toBe('image-build-failed');
  return err as NotGradableError;
}

real('student images, built by the real Docker engine', () => {
  it('builds FROM scratch with a RUN step, labelled, under a tag of the job; the image runs; remove() deletes it', async () => {
    const before = allImages();
    const student = await images()();
    const spec = dockerfile(
      'Dockerfile',
      'FROM scratch\nCOPY hello /hello\nRUN ["/hello"]\nUSER 65532:65532\nENTRYPOINT ["/hello"]\n',
    );
    const built = await student.build(spec, () => {});
    console.log(`built ${built.hostTag} in ${built.seconds.toFixed(1)} s, ${built.sizeBytes} bytes (${built.builder})`);
    expect(built.hostTag).toBe(`labgrader-build/${job}-0:latest`);
    expect(built.sizeBytes).toBeGreaterThan(500_000);
    expect(built.sizeBytes).toBeLessThan(20_000_000);
    const labels = sh('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', built.hostTag]);
    expect(JSON.parse(labels.stdout)).toEqual({ 'labgrader.built-by': 'labgrader', 'labgrader.job': job });
    // Never tagged with the manifest's name on the host.
    expect(sh('docker', ['image', 'inspect', 'ghcr.io/student/hello:1']).status).not.toBe(0);
    const ran = sh('docker', ['run', '--rm', '--network', 'none', built.hostTag]);
    expect(ran.stdout.trim()).toBe("hello from the student's image");

    const removed = await student.remove({ nodeAccess: undefined, nodes: async () => [] } as never);
    expect(removed).toBe(`removed the built image ${built.hostTag} from the Docker daemon and the nodes`);
    expect(sh('docker', ['image', 'inspect', built.hostTag]).status).not.toBe(0);
    expect(allImages()).toEqual(before);
  }, 120_000);

  it('compiles Go in a multi-stage build FROM a local toolchain image, without network; removes every stage after', async () => {
    const toolchain = sh(path.join(ROOT, 'scripts/go-toolchain-image.sh'), []);
    expect(toolchain.status).toBe(0);
    const base = toolchain.stdout.trim();
    const before = allImages();
    writeFileSync(path.join(lab, 'app', 'go.mod'), 'module hello\n\ngo 1.22\n');
    writeFileSync(
      path.join(lab, 'app', 'main.go'),
      MAIN_GO.replace("hello from the student's image", 'compiled in the build'),
    );
    const spec = dockerfile(
      'Dockerfile.go',
      `FROM ${base} AS build\nCOPY go.mod main.go ./\nRUN ["go", "build", "-o", "/out/hello", "."]\nFROM scratch\nCOPY --from=build /out/hello /hello\nENTRYPOINT ["/hello"]\n`,
    );
    const student = await images()();
    const built = await student.build(spec, () => {});
    console.log(`compiled Go in the build: ${built.seconds.toFixed(1)} s, ${built.sizeBytes} bytes`);
    expect(sh('docker', ['run', '--rm', '--network', 'none', built.hostTag]).stdout.trim()).toBe(
      'compiled in the build',
    );
    await student.remove({ nodeAccess: undefined, nodes: async () => [] } as never);
    // The build stage's images are gone too; the base image is not ours and stays.
    expect(allImages()).toEqual(before);
    expect(sh('docker', ['image', 'inspect', base]).status).toBe(0);
  }, 240_000);

  it('runs RUN steps without network: a step that dials the Docker host fails, said precisely, nothing left', async () => {
    const before = allImages();
    const spec = dockerfile('Dockerfile.net', 'FROM scratch\nCOPY hello /hello\nRUN ["/hello", "net"]\n');
    const err = await failure((await images()()).build(spec, () => {}));
    console.log(`network probe: ${err.message}`);
    expect(err.message).toMatch(
      /^building ghcr\.io\/student\/hello:1 from app\/Dockerfile\.net failed in Step 3\/\d+ : RUN \["\/hello", "net"\]: The command '\/hello net' returned a non-zero code: 3; its last output: no network: dial tcp 172\.17\.0\.1:9: connect: network is unreachable$/,
    );
    expect(err.hint).toContain('without network access');
    // The finished steps' images (COPY) are removed too.
    expect(allImages()).toEqual(before);

    // With buildNetwork: default the same step reaches the host (refused by the port, not by the network).
    const open = await failure((await images({ buildNetwork: 'default' })()).build(spec, () => {}));
    expect(open.message).toMatch(/no network: dial tcp 172\.17\.0\.1:9: connect: connection refused$/);
    expect(allImages()).toEqual(before);
  }, 120_000);

  it('a base image that is not local and cannot be pulled: not gradable, with the FROM and the engine message', async () => {
    const spec = dockerfile('Dockerfile.from', 'FROM golang:1.22 AS build\nRUN go version\n');
    const err = await failure((await images()()).build(spec, () => {}));
    console.log(`unpullable base: ${err.message}`);
    expect(err.message).toMatch(
      /^ghcr\.io\/student\/hello:1 cannot be built from app\/Dockerfile\.from: its base image is not on the grading machine and could not be pulled in Step 1\/\d+ : FROM golang:1\.22 AS build: \S.+$/,
    );
    expect(err.hint).toContain('FROM scratch');
  }, 120_000);

  it('the time limit stops the build and the step container; the size limit removes the image', async () => {
    const before = allImages();
    const slow = dockerfile('Dockerfile.sleep', 'FROM scratch\nCOPY hello /hello\nRUN ["/hello", "sleep"]\n');
    const t0 = Date.now();
    const err = await failure((await images({ buildTimeoutSeconds: 4 })()).build(slow, () => {}));
    const took = (Date.now() - t0) / 1000;
    console.log(`time limit: stopped after ${took.toFixed(1)} s: ${err.message}`);
    expect(took).toBeLessThan(30);
    expect(err.message).toMatch(/took longer than the build time limit \(4 s\) and was stopped in Step 3\/\d+ : RUN/);
    // The engine cancels the step when its client goes; give it a moment.
    for (let i = 0; i < 20 && running(); i++) await new Promise((r) => setTimeout(r, 500));
    expect(sh('docker', ['ps', '-a', '--format', '{{.Command}}']).stdout).not.toContain('/hello sleep');

    const student = await images({ maxImageSizeMiB: 1 })();
    const big = dockerfile('Dockerfile.big', 'FROM scratch\nCOPY hello /hello\n');
    const tooBig = await failure(student.build(big, () => {}));
    expect(tooBig.message).toMatch(
      /^the image built from app\/Dockerfile\.big for ghcr\.io\/student\/hello:1 is \d\.\d MiB, more than the image size limit \(1 MiB\)$/,
    );
    // The stage removes it with the job's images (its finally block); the timed-out build's finished steps went with it.
    await student.remove({ nodeAccess: undefined, nodes: async () => [] } as never);
    expect(allImages()).toEqual(before);
  }, 120_000);
});
