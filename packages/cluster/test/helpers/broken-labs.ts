/**
 * Broken Lab 85 submissions, each the passing example with one thing wrong,
 * as students break it: a liveness probe on a path that answers 404, a
 * Service whose targetPort points at nothing (with and without a readiness
 * probe), an image that cannot be pulled, a memory limit the pod cannot even
 * start in, a container that crashes on start. The unit tests read their
 * manifests (for real lines); the real-cluster tests grade them on kind.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PASSING = new URL('../../../../examples/lab-85-passing/', import.meta.url).pathname;

export interface BrokenLab {
  /** Folder name, and how tests refer to it. */
  name: string;
  /** What is wrong, in a student's terms. */
  what: string;
  /** Edits to the passing example's files (each must change something). */
  edits: Record<string, (text: string) => string>;
  /** Files of the passing example left out. */
  remove?: string[];
}

const replace = (from: string, to: string) => (text: string) => {
  if (!text.includes(from)) throw new Error(`the passing example no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
};

export const BROKEN_LABS = {
  /** Ready (readiness passes), then killed by the kubelet every ~30 s. */
  livenessNotFound: {
    name: 'liveness-404',
    what: 'the liveness probe asks a path the app answers with 404',
    edits: { 'k8s/deployment.yaml': replace('path: /healthz', 'path: /health') },
  },
  /** The pods are Ready; the Service sends its requests to a port nothing listens on. */
  targetPortNothing: {
    name: 'target-port-nothing',
    what: "the Service's targetPort is a port the app does not listen on",
    edits: { 'k8s/service.yaml': replace('targetPort: http', 'targetPort: 8081') },
  },
  /** Same, and without a readiness probe "Ready" only means "started". */
  noReadinessTargetPortNothing: {
    name: 'no-readiness-target-port-nothing',
    what: "no readiness probe, and the Service's targetPort is a port the app does not listen on",
    edits: {
      'k8s/deployment.yaml': replace(
        '          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n            periodSeconds: 5\n            failureThreshold: 2\n',
        '',
      ),
      'k8s/service.yaml': replace('targetPort: http', 'targetPort: 8081'),
    },
  },
  /**
   * A tag that exists nowhere local; the offline node cannot reach the registry (DNS times out). Without the
   * app's Dockerfile: with it, labgrader would build the image instead (images.ts), a case of its own.
   */
  imageCannotBePulled: {
    name: 'image-cannot-be-pulled',
    what: 'the image tag does not exist where the node can pull it, and the repository cannot build it',
    edits: { 'k8s/deployment.yaml': replace('lab85-web:1.0.0', 'lab85-web:1.0.1') },
    remove: ['app/Dockerfile'],
  },
  /**
   * A memory limit the pod's sandbox cannot start in: on the offline node
   * image (containerd 1.6, runc 1.1) 1Mi fails with "container init was
   * OOM-killed (memory limit too low?)"; 4Mi is enough for this small app.
   */
  memoryTooLow: {
    name: 'memory-too-low',
    what: 'limits.memory is too low for the pod to start at all',
    edits: {
      'k8s/deployment.yaml': (text) =>
        replace(
          '              memory: 64Mi',
          '              memory: 1Mi',
        )(replace('              memory: 32Mi', '              memory: 1Mi')(text)),
    },
  },
  /** The app's two listeners on the same port: it exits at once, on every start. */
  crashLoop: {
    name: 'crash-loop',
    what: 'the app exits on start (its metrics port is its HTTP port)',
    edits: {
      'k8s/deployment.yaml': replace(
        '          env:\n',
        '          env:\n            - name: METRICS_PORT\n              value: "8080"\n',
      ),
    },
  },
} satisfies Record<string, BrokenLab>;

/** Writes the broken lab into `parent` (a new temporary folder by default) and returns its folder. */
export function writeBrokenLab(lab: BrokenLab, parent = mkdtempSync(path.join(tmpdir(), 'labgrader-broken-'))): string {
  const dir = path.join(parent, lab.name);
  cpSync(PASSING, dir, { recursive: true });
  for (const [file, edit] of Object.entries(lab.edits)) {
    const full = path.join(dir, file);
    const before = readFileSync(full, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`${lab.name}: the edit of ${file} changed nothing`);
    writeFileSync(full, after);
  }
  for (const file of lab.remove ?? []) rmSync(path.join(dir, file));
  return dir;
}
