/**
 * The kubeconfig of a kind cluster for a grader that runs in a container
 * (docker-compose.yml). `kind create cluster` writes a kubeconfig whose server
 * is the port kind publishes on the Docker host's 127.0.0.1, which inside a
 * container is the container's own loopback. A worker container that has
 * joined the clusters' Docker network (KIND_EXPERIMENTAL_DOCKER_NETWORK)
 * reaches the API server by the control-plane container's name instead:
 * `kind get kubeconfig --internal` (server https://<cluster>-control-plane:6443).
 *
 * Enabled by LABGRADER_KIND_INTERNAL_KUBECONFIG=true (config.ts); off, the
 * kubeconfig kind wrote is used as before.
 */
import { writeFile } from 'node:fs/promises';
import { NotGradableError } from '@labgrader/core';
import { firstLine, type Tool } from './commands.js';

/** Replaces the kubeconfig file with the cluster's internal one (the client key is never logged). */
export async function useInternalKubeconfig(kind: Tool, cluster: string, kubeconfig: string): Promise<void> {
  const result = await kind.run(['get', 'kubeconfig', '--internal', '--name', cluster], {
    timeoutMs: 30_000,
    sensitive: true,
  });
  if (result.exitCode !== 0 || !/^\s*server:\s*https:\/\//m.test(result.stdout)) {
    throw new NotGradableError(
      'cluster-unavailable',
      `kind get kubeconfig --internal failed for ${cluster}: ${firstLine(result.stderr) || `exit ${result.exitCode}`}`,
      {
        hint: 'LABGRADER_KIND_INTERNAL_KUBECONFIG is set: the grader must run on the kind clusters’ Docker network (KIND_EXPERIMENTAL_DOCKER_NETWORK); unset it when it runs on the Docker host itself.',
      },
    );
  }
  await writeFile(kubeconfig, result.stdout, { mode: 0o600 });
}
