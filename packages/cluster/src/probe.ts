/**
 * Probing a Service from inside the cluster network, continuously, while a
 * drill runs: did the Service keep answering?
 *
 *  - From a node (kind, or an existing cluster whose nodes are Docker
 *    containers): one `docker exec <node> sh -c '<loop>'` runs curl against
 *    the ClusterIP every interval, so every request goes through kube-proxy's
 *    Service rules like a client pod's would. The loop stops when a stop file
 *    appears (killing `docker exec` would not stop it) or after a hard limit.
 *  - Through the API server's Service proxy (`kubectl get --raw
 *    /api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>`), for
 *    clusters whose nodes cannot be reached: the API server picks a Ready
 *    endpoint of the Service for each request.
 *
 * A request counts as answered when it gets an HTTP status below 500 within
 * the request time limit (from a node) or a 2xx (through the proxy, which
 * turns other statuses into errors).
 */
import type { Clock } from '@labgrader/core';
import type { Tool } from './commands.js';

export interface ProbeSample {
  /** Milliseconds on the prober's clock. */
  atMs: number;
  ok: boolean;
  /** `HTTP 200`, `curl exit 7`, `no endpoints available`… */
  detail: string;
}

export interface ProbeSummary {
  via: string;
  total: number;
  ok: number;
  /** ok / total (1 when nothing was sent). */
  ratio: number;
  /** Longest run of failed requests, from its first failure to the next answer (or the last failure). */
  longestOutageMs: number;
  firstFailure?: string;
}

export interface RunningProbe {
  stop(): Promise<ProbeSample[]>;
}

export interface ServiceProber {
  /** Human description for evidence (`curl from node labgrader-1-control-plane to 10.96.1.2:80/`). */
  via: string;
  once(): Promise<ProbeSample>;
  /** Starts probing until stopped (or `maxMs`, whichever comes first). */
  start(maxMs: number): RunningProbe;
}

export function summarizeProbe(via: string, samples: readonly ProbeSample[]): ProbeSummary {
  const ok = samples.filter((s) => s.ok).length;
  let longest = 0;
  let outageStart: number | undefined;
  let firstFailure: string | undefined;
  for (const s of samples) {
    if (!s.ok) {
      firstFailure ??= s.detail;
      outageStart ??= s.atMs;
      longest = Math.max(longest, s.atMs - outageStart);
    } else if (outageStart !== undefined) {
      longest = Math.max(longest, s.atMs - outageStart);
      outageStart = undefined;
    }
  }
  return {
    via,
    total: samples.length,
    ok,
    ratio: samples.length === 0 ? 1 : ok / samples.length,
    longestOutageMs: Math.round(longest),
    ...(firstFailure ? { firstFailure } : {}),
  };
}

const CURL_EXIT: Record<number, string> = {
  6: 'could not resolve host',
  7: 'connection refused',
  28: 'timed out',
  52: 'empty reply',
  56: 'connection reset',
};

function curlDetail(exit: number, code: string): { ok: boolean; detail: string } {
  const status = Number(code);
  if (exit === 0 && status > 0) return { ok: status < 500, detail: `HTTP ${status}` };
  return { ok: false, detail: `curl exit ${exit}${CURL_EXIT[exit] ? ` (${CURL_EXIT[exit]})` : ''}` };
}

/** Parses the node loop's lines: `<epoch ms> <curl exit> <http code>`. */
export function parseNodeProbeOutput(stdout: string): ProbeSample[] {
  const out: ProbeSample[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) (\d+) (\d{3})\s*$/.exec(line.trim());
    if (!m) continue;
    out.push({ atMs: Number(m[1]), ...curlDetail(Number(m[2]), m[3]!) });
  }
  return out;
}

/** The shell loop run in the node (POSIX sh, GNU date for milliseconds, curl). */
export function nodeProbeScript(
  url: string,
  options: { intervalMs: number; requestTimeoutMs: number; maxMs: number; stopFile: string },
): string {
  const interval = (options.intervalMs / 1000).toFixed(3);
  const timeout = (options.requestTimeoutMs / 1000).toFixed(3);
  const maxSeconds = Math.ceil(options.maxMs / 1000);
  return [
    `end=$(( $(date +%s) + ${maxSeconds} ))`,
    `while [ ! -e ${options.stopFile} ] && [ "$(date +%s)" -lt "$end" ]; do`,
    `  t=$(date +%s%3N)`,
    `  c=$(curl -s -o /dev/null -w '%{http_code}' --max-time ${timeout} '${url}'); e=$?`,
    `  echo "$t $e $c"`,
    `  sleep ${interval}`,
    `done`,
    `rm -f ${options.stopFile}`,
  ].join('\n');
}

export function nodeProber(options: {
  docker: Tool;
  node: string;
  clusterIP: string;
  port: number;
  path: string;
  intervalMs: number;
  requestTimeoutMs: number;
  /** Unique per probe run. */
  nextId: () => string;
}): ServiceProber {
  const host = options.clusterIP.includes(':') ? `[${options.clusterIP}]` : options.clusterIP;
  const url = `http://${host}:${options.port}${options.path}`;
  const via = `curl from node ${options.node} to ${options.clusterIP}:${options.port}${options.path}`;
  return {
    via,
    async once() {
      const timeout = (options.requestTimeoutMs / 1000).toFixed(3);
      const result = await options.docker.run(
        [
          'exec',
          options.node,
          'sh',
          '-c',
          `echo "$(date +%s%3N) $(curl -s -o /dev/null -w '%{http_code}' --max-time ${timeout} '${url}'; echo " $?")"`,
        ],
        { unrecorded: true, timeoutMs: options.requestTimeoutMs + 20_000 },
      );
      // `<ms> <code> <exit>` from the one-shot form.
      const m = /^(\d+) (\d{3}) (\d+)\s*$/.exec(result.stdout.trim());
      if (!m) return { atMs: Date.now(), ok: false, detail: `docker exec exit ${result.exitCode}` };
      return { atMs: Number(m[1]), ...curlDetail(Number(m[3]), m[2]!) };
    },
    start(maxMs) {
      const stopFile = `/tmp/labgrader-probe-${options.nextId()}.stop`;
      const script = nodeProbeScript(url, { ...options, maxMs, stopFile });
      const running = options.docker.run(['exec', options.node, 'sh', '-c', script], {
        unrecorded: true,
        timeoutMs: maxMs + 30_000,
      });
      running.catch(() => {});
      return {
        async stop() {
          await options.docker.run(['exec', options.node, 'touch', stopFile], { unrecorded: true, timeoutMs: 20_000 });
          const result = await running;
          return parseNodeProbeOutput(result.stdout);
        },
      };
    },
  };
}

export function apiProxyProber(options: {
  kubectl: Tool;
  namespace: string;
  service: string;
  port: number | string;
  path: string;
  intervalMs: number;
  requestTimeoutMs: number;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
}): ServiceProber {
  const raw = `/api/v1/namespaces/${options.namespace}/services/${options.service}:${options.port}/proxy${options.path}`;
  const via = `API server proxy to Service ${options.namespace}/${options.service}:${options.port}${options.path}`;
  const once = async (): Promise<ProbeSample> => {
    const atMs = options.clock.monotonicMs();
    const result = await options.kubectl.run(
      ['get', '--raw', raw, `--request-timeout=${Math.ceil(options.requestTimeoutMs / 1000)}s`],
      { unrecorded: true, timeoutMs: options.requestTimeoutMs + 20_000 },
    );
    if (result.exitCode === 0) return { atMs, ok: true, detail: 'HTTP 2xx' };
    const reason = /no endpoints available|connection refused|timeout|503|502|500|404|not found/i.exec(result.stderr);
    return { atMs, ok: false, detail: reason ? reason[0] : `kubectl exit ${result.exitCode}` };
  };
  return {
    via,
    once,
    start(maxMs) {
      let stopped = false;
      const samples: ProbeSample[] = [];
      const started = options.clock.monotonicMs();
      const loop = (async () => {
        while (!stopped && options.clock.monotonicMs() - started < maxMs) {
          samples.push(await once());
          if (!stopped) await options.sleep(options.intervalMs);
        }
      })();
      loop.catch(() => {});
      return {
        async stop() {
          stopped = true;
          await loop;
          return samples;
        },
      };
    },
  };
}
