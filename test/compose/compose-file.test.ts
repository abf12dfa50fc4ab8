/**
 * docker-compose.yml, checked in every test run (no Docker engine needed):
 *  - the invariants a production deployment relies on, read from the YAML
 *    itself: required secrets with clear errors and no default passwords,
 *    resource limits and log rotation everywhere, healthchecks (the worker's
 *    on its own health server), the named workspace volume, the cluster stage
 *    on kind with the worker on the clusters' Docker network, the GitHub App
 *    and course variables passed through;
 *  - `docker compose config` (the compose v2 plugin, else Debian's
 *    docker-compose v1), when a compose binary is installed: the file and the
 *    offline override must be valid, and a missing required variable must fail
 *    with its message. Where no compose binary exists this part says so and
 *    only the YAML checks run;
 *  - the worker image's pinned tools: one place (.ci/build-go-tools.sh) and the
 *    offline kind build (test/kind-offline/versions.sh) agree.
 * The real thing (compose up, a signed webhook, a report with the cluster
 * criteria graded, down -v) is test/compose/compose.real.sh, run by .ci/run.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const read = (p: string) => readFileSync(p, 'utf8');
const text = read('docker-compose.yml');
const compose = parse(text, { merge: true }) as {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the compose file is read as data
  services: Record<string, Record<string, any>>;
  volumes: Record<string, unknown>;
  networks: Record<string, { name?: string } | null>;
};
const services = compose.services;
const env = (service: string): Record<string, string> => services[service]!.environment ?? {};

const REQUIRED = {
  POSTGRES_PASSWORD: 'set POSTGRES_PASSWORD in .env',
  GITHUB_WEBHOOK_SECRET: 'set GITHUB_WEBHOOK_SECRET in .env',
  DOCKER_GID: 'set DOCKER_GID in .env',
  DASHBOARD_SESSION_SECRET: 'set DASHBOARD_SESSION_SECRET in .env',
};
const FULL_ENV = {
  POSTGRES_PASSWORD: 'compose-test-password',
  GITHUB_WEBHOOK_SECRET: 'compose-test-webhook-secret-0123456789',
  DOCKER_GID: '998',
  DASHBOARD_SESSION_SECRET: 'compose-test-session-secret-0123456789abcdef',
};

describe('docker-compose.yml: what production relies on', () => {
  it('has no default for a secret: each one is required, with a message that says what to set', () => {
    for (const [name, message] of Object.entries(REQUIRED)) {
      const uses = text.match(new RegExp(`\\$\\{${name}[:}][^}]*\\}?`, 'g')) ?? [];
      expect({ name, uses: uses.length > 0 }).toEqual({ name, uses: true });
      for (const use of uses) expect(use).toMatch(new RegExp(`^\\$\\{${name}:\\?${message}`));
    }
    expect(text).not.toMatch(/PASSWORD[^}\n]*:-/);
    expect(text).not.toMatch(/SECRET:\s*\$\{GITHUB_WEBHOOK_SECRET:-/);
  });

  it('limits every service and rotates every log', () => {
    for (const [name, s] of Object.entries(services)) {
      const limits = s.deploy?.resources?.limits;
      if (name !== 'labgrader') {
        expect({ name, memory: typeof limits?.memory, cpus: typeof limits?.cpus }).toEqual({
          name,
          memory: 'string',
          cpus: 'string',
        });
      }
      expect({ name, driver: s.logging?.driver, rotated: Boolean(s.logging?.options?.['max-size']) }).toEqual({
        name,
        driver: 'json-file',
        rotated: true,
      });
      expect(Number(s.logging.options['max-file'])).toBeGreaterThan(1);
    }
  });

  it('health-checks every long-running service; the worker on its own /healthz (HEALTH_PORT)', () => {
    for (const name of ['redis', 'postgres', 'api', 'worker', 'dashboard']) {
      expect({ name, test: Array.isArray(services[name]!.healthcheck?.test) }).toEqual({ name, test: true });
    }
    const port = env('worker').HEALTH_PORT;
    expect(port).toBe('3001');
    expect(services.worker!.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    // apps/worker/src/health.ts serves it.
    expect(read('apps/worker/src/health.ts')).toContain("url === '/healthz'");
    expect(services.api!.healthcheck.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
    expect(services.worker!.depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
    });
  });

  it('publishes the api on loopback only (the TLS proxy is the public side)', () => {
    expect(services.api!.ports).toEqual(['${API_PUBLISH:-127.0.0.1:3000}:3000']);
    expect(services.dashboard!.ports).toEqual(['${DASHBOARD_PUBLISH:-127.0.0.1:3002}:3002']);
    for (const name of ['redis', 'postgres', 'worker']) expect(services[name]!.ports).toBeUndefined();
  });

  it('keeps workspaces on a named volume, one directory per worker container', () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['workspaces', 'redis-data', 'postgres-data']));
    expect(services.worker!.volumes).toContain('workspaces:/var/lib/labgrader/workspaces');
    expect(services.worker!.entrypoint.join(' ')).toContain(
      'WORKSPACE_ROOT="/var/lib/labgrader/workspaces/$$(hostname)" exec node /opt/labgrader/apps/worker/dist/main.js',
    );
  });

  it('runs the cluster stage on kind, one cluster per worker, with the worker on the clusters’ network', () => {
    const w = env('worker');
    expect(w.CLUSTER_STAGE).toBe('${CLUSTER_STAGE:-kind}');
    expect(w.WORKER_CONCURRENCY).toBe('1');
    expect(w.CLUSTER_MAX_PER_HOST).toBe('${CLUSTER_MAX_PER_HOST:-2}');
    expect(w.LABGRADER_KIND_INTERNAL_KUBECONFIG).toBe('true');
    expect(w.DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    expect(services.worker!.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    // kind puts its nodes on the network KIND_EXPERIMENTAL_DOCKER_NETWORK names: the one the worker joins.
    expect(w.KIND_EXPERIMENTAL_DOCKER_NETWORK).toBe('${KIND_NETWORK:-labgrader-kind}');
    expect(compose.networks.kind).toEqual({ name: '${KIND_NETWORK:-labgrader-kind}' });
    expect(services.worker!.networks).toEqual(['default', 'kind']);
    // Only the worker touches the engine.
    for (const name of ['redis', 'postgres', 'api', 'dashboard']) {
      expect(JSON.stringify(services[name]!.volumes ?? [])).not.toContain('docker.sock');
    }
    // The variables the worker and the cluster package read.
    expect(read('apps/worker/src/config.ts')).toContain("CLUSTER_STAGE: z.enum(['auto', 'kind', 'none', 'existing'])");
    expect(read('packages/cluster/src/config.ts')).toContain('env.LABGRADER_KIND_INTERNAL_KUBECONFIG');
  });

  it('passes the GitHub App and course variables to both the api and the worker', () => {
    for (const name of ['api', 'worker']) {
      for (const v of [
        'GITHUB_APP_ID',
        'GITHUB_APP_PRIVATE_KEY',
        'GITHUB_APP_PRIVATE_KEY_FILE',
        'GITHUB_API_URL',
        'GITHUB_URL',
        'LABGRADER_PUBLIC_URL',
        'LABGRADER_COURSE',
      ]) {
        expect({ name, v, value: env(name)[v] }).toEqual({ name, v, value: `\${${v}:-}` });
      }
    }
    expect(env('api').GITHUB_WEBHOOK_SECRET).toMatch(/^\$\{GITHUB_WEBHOOK_SECRET:\?/);
  });

  it('serves the dashboard from the same image, after the worker has migrated the store, with sign-in configured', () => {
    expect(services.dashboard!.entrypoint).toEqual(['node', '/opt/labgrader/apps/dashboard/dist/main.js']);
    expect(services.dashboard!.depends_on).toMatchObject({ worker: { condition: 'service_healthy' } });
    const d = env('dashboard');
    expect(d.DASHBOARD_SESSION_SECRET).toMatch(/^\$\{DASHBOARD_SESSION_SECRET:\?/);
    for (const v of ['LABGRADER_ADMIN_TOKEN', 'GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET', 'LABGRADER_COURSE']) {
      expect({ v, value: d[v] }).toEqual({ v, value: `\${${v}:-}` });
    }
    expect(d.PORT).toBe('3002');
    expect(services.dashboard!.healthcheck.test.join(' ')).toContain('http://127.0.0.1:3002/healthz');
    // The variables apps/dashboard reads.
    const config = read('apps/dashboard/src/config.ts');
    for (const v of ['DASHBOARD_SESSION_SECRET', 'LABGRADER_ADMIN_TOKEN', 'DASHBOARD_PUBLIC_URL', 'PORT']) {
      expect(config).toContain(`${v}:`);
    }
  });

  it('builds one image from the Dockerfile, whose bases are build arguments', () => {
    const dockerfile = read('Dockerfile');
    for (const arg of ['BASE_IMAGE', 'GO_IMAGE', 'DOCKER_CLI_IMAGE']) {
      expect(dockerfile).toMatch(new RegExp(`^ARG ${arg}=\\S+$`, 'm'));
    }
    expect(dockerfile).toContain('RUN build-go-tools.sh /out helm kubectl kind');
    expect(dockerfile).toContain('COPY --from=tools /out/kind /usr/local/bin/');
    expect(dockerfile).toContain('COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/');
    for (const name of ['api', 'worker', 'dashboard', 'labgrader']) {
      expect(services[name]!.build.args).toEqual({
        BASE_IMAGE: '${LABGRADER_BASE_IMAGE:-node:20-bookworm-slim}',
        GO_IMAGE: '${LABGRADER_GO_IMAGE:-golang:1.24-bookworm}',
        DOCKER_CLI_IMAGE: '${LABGRADER_DOCKER_CLI_IMAGE:-docker:27.5.1-cli}',
      });
    }
  });

  it('pins kind in one place for the image and CI, the same version as the offline kind build', () => {
    const versions = spawnSync('bash', ['.ci/build-go-tools.sh', '--print-versions'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(versions.status).toBe(0);
    const kind = /^KIND_VERSION=(v\d+\.\d+\.\d+)$/m.exec(versions.stdout)?.[1];
    expect(kind).toMatch(/^v\d/);
    expect(read('test/kind-offline/versions.sh')).toContain(`KIND_VERSION=\${KIND_VERSION:-${kind}}`);
  });
});

/** `docker compose` (v2 plugin), else `docker-compose` (v1), else none. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}

const cmd = composeCommand();
const runCompose = (args: string[], extra: Record<string, string>) =>
  spawnSync(cmd![0]!, [...cmd!.slice(1), '--project-directory', '.', '-f', 'docker-compose.yml', ...args], {
    encoding: 'utf8',
    // Only what the test sets: no .env of the machine, no variables of the shell.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...extra },
  });

describe('docker compose config', () => {
  if (!cmd) {
    it('NOT RUN: no compose binary here (docker compose / docker-compose); only the YAML checks above ran', () => {
      console.warn('docker compose config NOT RUN: no compose binary on this machine');
    });
    return;
  }

  it(`accepts the file with the required variables set (${cmd.join(' ')})`, () => {
    const result = runCompose(['config'], FULL_ENV);
    expect(result.stderr.replace(/.*(WARN|warning).*\n?/gi, '')).toBe('');
    expect(result.status).toBe(0);
    const resolved = parse(result.stdout) as typeof compose;
    expect(resolved.services.worker!.environment).toMatchObject({
      CLUSTER_STAGE: 'kind',
      KIND_EXPERIMENTAL_DOCKER_NETWORK: 'labgrader-kind',
      DATABASE_URL: `postgres://labgrader:${FULL_ENV.POSTGRES_PASSWORD}@postgres:5432/labgrader`,
    });
    expect(resolved.networks.kind).toMatchObject({ name: 'labgrader-kind' });
  });

  it('refuses to start without each required variable, naming it', () => {
    for (const [name, message] of Object.entries(REQUIRED)) {
      const without = Object.fromEntries(Object.entries(FULL_ENV).filter(([k]) => k !== name));
      const result = runCompose(['config', '-q'], without);
      expect({ name, status: result.status }).not.toEqual({ name, status: 0 });
      expect(result.stderr).toContain(message);
    }
  });

  it('accepts the offline test override on top (test/compose/offline.override.yml)', () => {
    const result = runCompose(['-f', 'test/compose/offline.override.yml', 'config', '-q'], {
      ...FULL_ENV,
      LABGRADER_TEST_REPOS: '/tmp',
    });
    expect(result.stderr.replace(/.*(WARN|warning).*\n?/gi, '')).toBe('');
    expect(result.status).toBe(0);
  });
});
