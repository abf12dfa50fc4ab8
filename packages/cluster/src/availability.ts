/**
 * Whether the cluster stage can run on this machine, for `--cluster auto`:
 * kind, kubectl and a Docker engine that answers (kind target), or a cluster
 * that answers (existing target). Cheap: a few `version` calls.
 */
import { CommandNotFoundError, type CommandRunner } from '@labgrader/core';
import { displayName, firstLine } from './commands.js';
import { resolveClusterConfig, type Env } from './config.js';
import { clusterSettingsSchema, existingTargetSchema, kindTargetSchema, type ClusterSettings } from './settings.js';

export type ClusterAvailability =
  { available: true; detail: string } | { available: false; reason: string; hint: string };

async function version(
  runner: CommandRunner,
  binary: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ ok: boolean; text: string; missing?: boolean }> {
  try {
    const r = await runner.run(binary, args, { timeoutMs: 20_000, env });
    return { ok: r.exitCode === 0, text: firstLine(r.exitCode === 0 ? r.stdout : r.stderr || r.stdout) };
  } catch (err) {
    if (err instanceof CommandNotFoundError) return { ok: false, text: '', missing: true };
    return { ok: false, text: err instanceof Error ? err.message : String(err) };
  }
}

export async function clusterAvailability(
  settings: ClusterSettings,
  env: Env,
  runner: CommandRunner,
): Promise<ClusterAvailability> {
  const config = resolveClusterConfig(settings, env);
  const kubectl = await version(runner, config.kubectl, ['version', '--client']);
  if (!kubectl.ok) {
    return {
      available: false,
      reason: kubectl.missing
        ? `${displayName(config.kubectl)} is not installed`
        : `kubectl does not run: ${kubectl.text}`,
      hint: 'Install kubectl or set LABGRADER_KUBECTL.',
    };
  }
  if (config.target.type === 'kind') {
    const kind = await version(runner, config.target.binary, ['version']);
    if (!kind.ok) {
      return {
        available: false,
        reason: kind.missing
          ? `kind is not installed (looked for '${config.target.binary}')`
          : `kind does not run: ${kind.text}`,
        hint: 'Install kind (https://kind.sigs.k8s.io) or set LABGRADER_KIND; kind needs a Docker engine.',
      };
    }
    const docker = await version(runner, config.docker, ['info', '--format', '{{.ServerVersion}}']);
    if (!docker.ok) {
      return {
        available: false,
        reason: docker.missing
          ? 'docker is not installed'
          : `no Docker engine answers${docker.text ? ` (${docker.text})` : ''}`,
        hint: 'Start the Docker engine (kind runs its nodes as containers), or set DOCKER_HOST.',
      };
    }
    return { available: true, detail: `${kind.text}, Docker engine ${docker.text}` };
  }
  const t = config.target;
  const args = [
    ...(t.kubeconfig ? ['--kubeconfig', t.kubeconfig] : []),
    ...(t.context ? ['--context', t.context] : []),
    'get',
    '--raw',
    '/readyz',
    '--request-timeout=10s',
  ];
  const ready = await version(runner, config.kubectl, args, t.kubeconfigEnv ? { KUBECONFIG: t.kubeconfigEnv } : {});
  if (!ready.ok) {
    return {
      available: false,
      reason: `the cluster (${t.context ? `context ${t.context}` : 'current context'}) does not answer${ready.text ? `: ${ready.text}` : ''}`,
      hint: 'Check --kube-context and KUBECONFIG.',
    };
  }
  return { available: true, detail: `cluster ${t.context ? `context ${t.context}` : '(current context)'} answers` };
}

/**
 * The settings with the target replaced, keeping the rubric's own settings of
 * that target type (`--cluster kind`, `--kube-context <ctx>`).
 */
export function withTarget(
  settings: ClusterSettings,
  wanted: { type: 'kind' } | { type: 'existing'; context?: string },
): ClusterSettings {
  const current = settings.target;
  if (wanted.type === 'kind') {
    return clusterSettingsSchema.parse({
      ...settings,
      target: current.type === 'kind' ? current : kindTargetSchema.parse({ type: 'kind' }),
    });
  }
  const base = current.type === 'existing' ? current : existingTargetSchema.parse({ type: 'existing' });
  return clusterSettingsSchema.parse({
    ...settings,
    target: { ...base, ...(wanted.context ? { context: wanted.context } : {}) },
  });
}
