/**
 * Where the renderers are looked for, and the pinned versions CI and the
 * worker image ship (the Dockerfile cannot be built on this machine: no
 * container registry, so it is kept right by these checks and by reading).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { HELM_VERSION, KUBECTL_VERSION, installHint, toolCandidates } from '../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('renderer lookup', () => {
  it('tries the environment variable, then PATH, then the labgrader cache', () => {
    expect(toolCandidates('helm', { LABGRADER_HELM: '/opt/helm', HOME: '/home/u' }).map((c) => c.command)).toEqual([
      '/opt/helm',
      'helm',
      '/home/u/.cache/labgrader/bin/helm',
    ]);
    expect(toolCandidates('kubectl', { LABGRADER_CACHE_DIR: '/cache', HOME: '/home/u' })).toEqual([
      { command: 'kubectl', shown: 'kubectl on PATH' },
      { command: '/cache/bin/kubectl', shown: '/cache/bin/kubectl' },
    ]);
    // Blank variables are unset; without HOME there is no cache.
    expect(toolCandidates('helm', { LABGRADER_HELM: '  ' }).map((c) => c.command)).toEqual(['helm']);
  });

  it('says exactly how to install a missing tool', () => {
    expect(installHint('helm')).toContain(`go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`);
    expect(installHint('helm')).toContain('GOBIN=~/.cache/labgrader/bin');
    expect(installHint('kubectl')).toContain('LABGRADER_KUBECTL');
  });
});

describe('pinned renderers in CI and the worker image', () => {
  const script = read('.ci/build-go-tools.sh');

  it('the build script pins the versions labgrader names', () => {
    expect(script).toContain(`HELM_VERSION=\${HELM_VERSION:-${HELM_VERSION}}`);
    expect(script).toContain(`KUBECTL_VERSION=\${KUBECTL_VERSION:-${KUBECTL_VERSION}}`);
  });

  it('.ci/run builds helm into the cache labgrader looks in, with that script', () => {
    const run = read('.ci/run');
    expect(run).toContain('TOOLS="${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/bin"');
    expect(run).toContain('.ci/build-go-tools.sh "$TOOLS" helm');
  });

  it('the Dockerfile builds helm and kubectl with it and puts them on PATH in the final image', () => {
    const dockerfile = read('Dockerfile');
    // The Go image is a build argument (a machine without a registry passes its own; see test/compose/).
    expect(dockerfile).toMatch(/^ARG GO_IMAGE=golang:1\.\d+-bookworm$/m);
    expect(dockerfile).toMatch(/^FROM \$\{GO_IMAGE\} AS tools$/m);
    expect(dockerfile).toContain('COPY .ci/build-go-tools.sh /usr/local/bin/build-go-tools.sh');
    expect(dockerfile).toContain('RUN build-go-tools.sh /out helm kubectl');
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toContain('COPY --from=tools /out/helm /out/kubectl /usr/local/bin/');
    // The Go directive of the Kubernetes release kubectl is built from must fit the builder image.
    const go = /^ARG GO_IMAGE=golang:(1\.\d+)-bookworm/m.exec(dockerfile)![1]!;
    expect(Number(go.split('.')[1])).toBeGreaterThanOrEqual(24);
    // .dockerignore must not drop the script.
    expect(read('.dockerignore')).not.toMatch(/^\.ci/m);
  });
});
