/**
 * Where the renderers' programs are found, and what to say when they are not.
 *
 * Each tool is looked for, in order: the path in its environment variable
 * (LABGRADER_HELM, LABGRADER_KUBECTL), the bare name on PATH, and
 * `<cache>/bin/<tool>` where `<cache>` is LABGRADER_CACHE_DIR or
 * ~/.cache/labgrader (where `.ci/run` builds helm from its Go module). The
 * candidates are tried through the CommandRunner, so discovery never touches
 * the filesystem; the first that starts is remembered per runner.
 */
import path from 'node:path';
import type { CommandRunner } from '@labgrader/core';

export type RenderToolName = 'helm' | 'kubectl';

/** The helm version `.ci/run` and the worker image ship (and the tests record output from). */
export const HELM_VERSION = 'v3.19.0';
/** The kubectl line the worker image ships (the Kubernetes API version manifests are validated against). */
export const KUBECTL_VERSION = 'v1.33.5';

const ENV_VAR: Record<RenderToolName, string> = { helm: 'LABGRADER_HELM', kubectl: 'LABGRADER_KUBECTL' };

export type Env = Readonly<Record<string, string | undefined>>;

/** `<cache>/bin`: LABGRADER_CACHE_DIR/bin, else ~/.cache/labgrader/bin; undefined without HOME. */
export function toolCacheDir(env: Env): string | undefined {
  const cache = env.LABGRADER_CACHE_DIR?.trim() || (env.HOME ? path.join(env.HOME, '.cache', 'labgrader') : undefined);
  return cache ? path.join(cache, 'bin') : undefined;
}

export interface ToolCandidate {
  command: string;
  /** How a message names it: `LABGRADER_HELM=/opt/helm`, `helm on PATH`, `/home/u/.cache/labgrader/bin/helm`. */
  shown: string;
}

/** Commands to try for a tool, most explicit first. */
export function toolCandidates(tool: RenderToolName, env: Env): ToolCandidate[] {
  const out: ToolCandidate[] = [];
  const explicit = env[ENV_VAR[tool]]?.trim();
  if (explicit) out.push({ command: explicit, shown: `${ENV_VAR[tool]}=${explicit}` });
  out.push({ command: tool, shown: `${tool} on PATH` });
  const cache = toolCacheDir(env);
  if (cache) out.push({ command: path.join(cache, tool), shown: path.join(cache, tool) });
  return out.filter((c, i) => out.findIndex((o) => o.command === c.command) === i);
}

/** Exactly how to install a missing tool so that labgrader finds it. */
export function installHint(tool: RenderToolName): string {
  return tool === 'helm'
    ? `Install helm ${HELM_VERSION} where labgrader looks for it: \`GOBIN=~/.cache/labgrader/bin go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}\` (needs Go), or a release binary from https://github.com/helm/helm/releases on PATH, or set LABGRADER_HELM to its path.`
    : `Install kubectl (${KUBECTL_VERSION}, for \`kubectl kustomize\`) on PATH from https://kubernetes.io/docs/tasks/tools/, or put it in ~/.cache/labgrader/bin, or set LABGRADER_KUBECTL to its path.`;
}

const found = new WeakMap<CommandRunner, Map<string, string>>();

/** The candidate that started last time for this runner, if any (tried first). */
export function rememberedTool(runner: CommandRunner, key: string): string | undefined {
  return found.get(runner)?.get(key);
}

export function rememberTool(runner: CommandRunner, key: string, command: string): void {
  let map = found.get(runner);
  if (!map) {
    map = new Map();
    found.set(runner, map);
  }
  map.set(key, command);
}
