/**
 * A submission that ships its own image, graded for real on a kind cluster
 * of its own through the CLI: examples/lab-85-student-image, with its image
 * named the way many students name it (`:latest`, no imagePullPolicy, which
 * Kubernetes turns into Always). Its app/Dockerfile is built FROM the local
 * Go toolchain image (scripts/go-toolchain-image.sh: the machine is offline),
 * loaded into the node under the manifest's name, applied with
 * IfNotPresent (said at the student's line; a pull would fail here, and would
 * run a registry's image elsewhere), and graded: the cluster criteria in
 * full. Nothing of the build is left in Docker, and the cluster is gone.
 *
 * Runs only where the offline node image, a Docker engine and Go are
 * present; otherwise it says so loudly (NOT RUN) and is skipped. Durations
 * are printed, never asserted.
 */
import { describe, expect, it } from '@jest/globals';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  KIND_ENV,
  ROOT,
  clusterFindings,
  clusterPoints,
  evidence,
  grade,
  kindClusterContainers,
  measured,
  real,
  rubricWith,
  run,
  work,
} from './helpers/real-cluster.js';

const IMAGE = 'ghcr.io/student-0042/lab85-web:latest';
const builtImages = () =>
  run('docker', ['images', '-q', '--filter', 'label=labgrader.built-by=labgrader']).stdout.split('\n').filter(Boolean);

// The base image is made from this machine's Go (scripts/go-toolchain-image.sh): without Go, not run.
const noGo = run('go', ['version']).status !== 0;
if (noGo) {
  console.warn('## STUDENT-IMAGE REAL TEST: NOT RUN (not counted): Go is not installed (it makes the base image)');
}

(noGo ? describe.skip : real)('a student image built from the repository (--cluster kind)', () => {
  it('builds app/Dockerfile, runs it under the :latest name without a pull, grades it, and leaves nothing', async () => {
    const toolchain = run(path.join(ROOT, 'scripts/go-toolchain-image.sh'), []);
    expect({ status: toolchain.status, stderr: toolchain.status === 0 ? '' : toolchain.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const lab = path.join(work, 'student-image-latest');
    cpSync(path.join(ROOT, 'examples/lab-85-student-image'), lab, { recursive: true });
    const file = path.join(lab, 'k8s/deployment.yaml');
    const text = readFileSync(file, 'utf8');
    const edited = text
      .replace(
        'image: ghcr.io/student-0042/lab85-web:1.1.0\n          imagePullPolicy: IfNotPresent\n',
        `image: ${IMAGE}\n`,
      )
      .replaceAll('ghcr.io/student-0042/lab85-web:1.1.0', IMAGE);
    expect(edited).not.toBe(text);
    expect(edited.split('\n')[43]).toBe(`          image: ${IMAGE}`);
    writeFileSync(file, edited);
    const before = builtImages();

    const rubric = rubricWith('student-image', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-img }'],
    ]);
    const { report } = await grade(lab, ['--cluster', 'kind', '--rubric', rubric], KIND_ENV);
    console.log(`student image (:latest), kind: ${measured(report)}`);
    expect(report.status).toBe('graded');
    expect(evidence(report, 'images')).toEqual([`built from the repository and loaded: ${IMAGE} (app/Dockerfile)`]);
    expect(evidence(report, 'image-built')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${IMAGE.replace(/[.:/]/g, '\\$&')}: built from app/Dockerfile .* without network, no build cache; loaded into the cluster as ${IMAGE.replace(/[.:/]/g, '\\$&')}$`,
        ),
      ),
    ]);
    // Applied IfNotPresent, said at the line the student wrote; what they wrote is still linted.
    const changed = report.evidence.filter((e) => e.label === 'changed' && /imagePullPolicy/.test(e.detail));
    expect(changed.map((e) => `${e.location?.file}:${e.location?.line} ${e.detail}`)).toEqual([
      `k8s/deployment.yaml:44 Deployment lab85/web container web: imagePullPolicy set to IfNotPresent (was no imagePullPolicy and the tag of ${IMAGE} defaults to Always): labgrader put ${IMAGE} into the nodes, and a pull would ask a registry for it instead of running the one submitted`,
    ]);
    expect(report.findings.some((f) => f.checkId === 'lint/image-tag' && f.location?.line === 44)).toBe(true);
    // The built image served and survived the drills: every cluster point, no cluster finding.
    expect(clusterFindings(report)).toEqual([]);
    expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 5, 'survives-failure': 15 });
    expect(evidence(report, 'ready')).toEqual([expect.stringMatching(/^Deployment lab85\/web: 3\/3 Ready/)]);

    // Nothing left: no image labgrader built, no cluster.
    expect(evidence(report, 'images-removed')).toEqual([
      expect.stringMatching(/^removed the built image labgrader-build\/\S+ from the Docker daemon and the nodes$/),
    ]);
    expect(builtImages()).toEqual(before);
    expect(kindClusterContainers().filter((c) => c.startsWith('lgt-img'))).toEqual([]);
  }, 900_000);
});
