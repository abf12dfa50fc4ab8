/**
 * The sandbox renderers run in. kustomize and helm read what a student's
 * files tell them to read, so the process gets:
 * - no network, where the OS allows it: a fresh, empty network namespace
 *   (`unshare --net`), detected once per CommandRunner; without it the
 *   renderer runs as before and a debug log says so;
 * - a private, empty home per render (HOME, XDG dirs, Helm dirs, an empty
 *   kubeconfig and repository list), removed afterwards whatever happens, so
 *   nothing the host or an earlier render left there is visible;
 * - git refusing every transport, in case a path check ever misses a
 *   reference kustomize would clone.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandNotFoundError, silentLogger, type CommandRunner, type Logger } from '@labgrader/core';

export interface NetworkIsolation {
  /** True when wrapped commands run without network access. */
  readonly isolated: boolean;
  /** For logs: how commands are isolated, or why they are not. */
  readonly description: string;
  /** The command line to run instead of `command args`. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Whether a failed wrapped run means the wrapped program itself is not installed. */
  isMissingProgram(result: { exitCode: number; stderr: string }): boolean;
}

export function noNetworkIsolation(reason: string): NetworkIsolation {
  return {
    isolated: false,
    description: `renderers run with the host's network (${reason})`,
    wrap: (command, args) => ({ command, args: [...args] }),
    isMissingProgram: () => false,
  };
}

/** `unshare <flags> -- command args`: the command starts in a new network namespace holding only a loopback that is down. */
export function unshareNetworkIsolation(flags: readonly string[]): NetworkIsolation {
  return {
    isolated: true,
    description: `renderers run without network (unshare ${flags.join(' ')})`,
    wrap: (command, args) => ({ command: 'unshare', args: [...flags, '--', command, ...args] }),
    // unshare execs the program; when it is missing it says so and exits 127 (like a shell).
    isMissingProgram: (result) => result.exitCode === 127 && /^unshare: failed to execute /m.test(result.stderr),
  };
}

/**
 * unshare flags to try, most direct first: `--net` needs CAP_SYS_ADMIN (root);
 * `--map-root-user` also creates a user namespace, which lets an unprivileged
 * user make the network namespace where the kernel allows it.
 */
export const UNSHARE_CANDIDATES: readonly (readonly string[])[] = [['--net'], ['--net', '--map-root-user']];

const PROBE_TIMEOUT_MS = 5_000;

async function probe(runner: CommandRunner, logger: Logger): Promise<NetworkIsolation> {
  const failures: string[] = [];
  for (const flags of UNSHARE_CANDIDATES) {
    try {
      const result = await runner.run('unshare', [...flags, '--', 'true'], {
        isolateEnv: true,
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      if (result.exitCode === 0 && !result.timedOut) {
        const isolation = unshareNetworkIsolation(flags);
        logger.debug(isolation.description);
        return isolation;
      }
      failures.push(`unshare ${flags.join(' ')}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    } catch (err) {
      if (err instanceof CommandNotFoundError) {
        failures.push('unshare is not installed');
        break;
      }
      failures.push(`unshare ${flags.join(' ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const isolation = noNetworkIsolation(failures.join('; '));
  logger.debug(isolation.description);
  return isolation;
}

const detected = new WeakMap<CommandRunner, Promise<NetworkIsolation>>();

/** What network isolation `runner` can give renderers; probed once per runner, never fails. */
export function networkIsolationFor(runner: CommandRunner, logger: Logger = silentLogger): Promise<NetworkIsolation> {
  let found = detected.get(runner);
  if (!found) {
    found = probe(runner, logger);
    detected.set(runner, found);
  }
  return found;
}

export interface PrivateHome {
  dir: string;
  /** Environment pointing every tool's home, config, cache and temp dir into `dir`. */
  env: Record<string, string | undefined>;
}

/** Creates a private home (mode 0700, from mkdtemp) with the empty files the tools read. */
export async function createPrivateHome(parent = tmpdir()): Promise<PrivateHome> {
  const dir = await mkdtemp(path.join(parent, 'labgrader-render-'));
  try {
    const at = (...parts: string[]) => path.join(dir, ...parts);
    for (const sub of ['home', 'tmp', 'config/helm', 'cache/helm', 'data/helm/plugins'])
      await mkdir(at(sub), { recursive: true });
    await writeFile(at('kubeconfig'), '');
    await writeFile(at('config/helm/repositories.yaml'), '');
    return {
      dir,
      env: {
        HOME: at('home'),
        TMPDIR: at('tmp'),
        XDG_CONFIG_HOME: at('config'),
        XDG_CACHE_HOME: at('cache'),
        XDG_DATA_HOME: at('data'),
        // Never the grader's cluster credentials (isolateEnv keeps KUBECONFIG otherwise).
        KUBECONFIG: at('kubeconfig'),
        HELM_CONFIG_HOME: at('config/helm'),
        HELM_CACHE_HOME: at('cache/helm'),
        HELM_DATA_HOME: at('data/helm'),
        HELM_PLUGINS: at('data/helm/plugins'),
        HELM_REPOSITORY_CONFIG: at('config/helm/repositories.yaml'),
        HELM_REPOSITORY_CACHE: at('cache/helm/repository'),
        HELM_REGISTRY_CONFIG: at('config/helm/registry.json'),
        KUSTOMIZE_PLUGIN_HOME: at('config/kustomize/plugin'),
        // kustomize clones remote bases with git: allow no transport at all (file:// included).
        GIT_ALLOW_PROTOCOL: 'labgrader-none',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        DOCKER_HOST: undefined,
      },
    };
  } catch (err) {
    await removePrivateHome(dir);
    throw err;
  }
}

export async function removePrivateHome(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}
