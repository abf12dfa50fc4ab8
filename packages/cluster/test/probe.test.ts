/**
 * The Service probes. The node loop is a shell script that runs inside the
 * node container; here it runs for real in a local shell against a local
 * HTTP server (curl, GNU date), to prove it samples, classifies and stops
 * on its stop file. The API-server proxy prober runs against a scripted kubectl.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createExecaRunner } from '@labgrader/exec';
import { apiProxyProber, nodeProbeScript, parseNodeProbeOutput, summarizeProbe } from '../src/probe.js';
import { FakeClock, FakeRunner, fakeTool } from './helpers/fake.js';

describe('probe output', () => {
  it('parses the loop lines and classifies curl results', () => {
    expect(parseNodeProbeOutput('1000 0 200\n1250 0 404\n1500 0 503\n1750 7 000\ngarbage\n2000 28 000\n')).toEqual([
      { atMs: 1000, ok: true, detail: 'HTTP 200' },
      { atMs: 1250, ok: true, detail: 'HTTP 404' }, // the Service answered: not our business which path exists
      { atMs: 1500, ok: false, detail: 'HTTP 503' },
      { atMs: 1750, ok: false, detail: 'curl exit 7 (connection refused)' },
      { atMs: 2000, ok: false, detail: 'curl exit 28 (timed out)' },
    ]);
  });

  it('summarizes the share answered and the longest outage', () => {
    const samples = parseNodeProbeOutput(
      ['0 0 200', '250 7 000', '500 7 000', '750 0 200', '1000 7 000', '1250 0 200'].join('\n'),
    );
    expect(summarizeProbe('via', samples)).toEqual({
      via: 'via',
      total: 6,
      ok: 3,
      ratio: 0.5,
      longestOutageMs: 500, // 250 → 750
      firstFailure: 'curl exit 7 (connection refused)',
    });
    expect(summarizeProbe('via', [])).toEqual({ via: 'via', total: 0, ok: 0, ratio: 1, longestOutageMs: 0 });
  });
});

describe('the node probe loop, run for real in a local shell', () => {
  let server: Server;
  let port = 0;
  let served = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      served += 1;
      // The first 4 answers are fine, then the service fails (503).
      res.writeHead(served <= 4 ? 200 : 503).end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('requests every interval until its stop file appears, then removes it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labgrader-probe-'));
    try {
      const stopFile = path.join(dir, 'stop');
      const script = nodeProbeScript(`http://127.0.0.1:${port}/`, {
        intervalMs: 100,
        requestTimeoutMs: 2000,
        maxMs: 60_000,
        stopFile,
      });
      const running = createExecaRunner().run('sh', ['-c', script], { timeoutMs: 60_000 });
      // Let it sample until the server has answered 6 times, then stop it.
      while (served < 6) await new Promise((r) => setTimeout(r, 50));
      writeFileSync(stopFile, '');
      const result = await running;
      expect(result.exitCode).toBe(0);
      expect(existsSync(stopFile)).toBe(false);
      const samples = parseNodeProbeOutput(result.stdout);
      expect(samples.length).toBeGreaterThanOrEqual(6);
      expect(samples.slice(0, 6).map((s) => s.detail)).toEqual([
        'HTTP 200',
        'HTTP 200',
        'HTTP 200',
        'HTTP 200',
        'HTTP 503',
        'HTTP 503',
      ]);
      expect(samples.every((s, i) => i === 0 || s.atMs >= samples[i - 1]!.atMs)).toBe(true);
      expect(Math.abs(samples[0]!.atMs - Date.now())).toBeLessThan(120_000); // epoch milliseconds
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops by itself at its time limit', async () => {
    const script = nodeProbeScript('http://127.0.0.1:9/', {
      intervalMs: 100,
      requestTimeoutMs: 500,
      maxMs: 1000,
      stopFile: path.join(tmpdir(), 'labgrader-probe-never-created'),
    });
    const result = await createExecaRunner().run('sh', ['-c', script], { timeoutMs: 30_000 });
    expect(result.exitCode).toBe(0);
    const samples = parseNodeProbeOutput(result.stdout);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => !s.ok && s.detail === 'curl exit 7 (connection refused)')).toBe(true);
  }, 30_000);
});

describe('the API server proxy prober', () => {
  it('asks the Service through kubectl get --raw, until stopped', async () => {
    const clock = new FakeClock();
    const runner = new FakeRunner(clock);
    runner.commandMs = 0;
    let n = 0;
    runner.on(
      /kubectl get --raw \/api\/v1\/namespaces\/lg-1-lab85\/services\/web:80\/proxy\/ --request-timeout=2s/,
      () =>
        ++n % 3 === 0
          ? { exitCode: 1, stderr: 'Error from server (ServiceUnavailable): no endpoints available for service "web"' }
          : { stdout: '{}' },
    );
    const kubectl = fakeTool(runner, clock);
    const prober = apiProxyProber({
      kubectl,
      namespace: 'lg-1-lab85',
      service: 'web',
      port: 80,
      path: '/',
      intervalMs: 500,
      requestTimeoutMs: 2000,
      clock,
      sleep: clock.sleep,
    });
    expect(await prober.once()).toMatchObject({ ok: true, detail: 'HTTP 2xx' });
    // Runs every 500 ms (fake clock) until its time limit; every third request finds no endpoint.
    const loop = prober.start(2_000);
    while (clock.t < 2_000) await new Promise((r) => setImmediate(r));
    const samples = await loop.stop();
    expect(samples).toEqual([
      { atMs: 0, ok: true, detail: 'HTTP 2xx' },
      { atMs: 500, ok: false, detail: 'no endpoints available' },
      { atMs: 1000, ok: true, detail: 'HTTP 2xx' },
      { atMs: 1500, ok: true, detail: 'HTTP 2xx' },
    ]);
    // Stopped at once: what it had so far.
    expect(await prober.start(60_000).stop()).toHaveLength(1);
    expect(prober.via).toBe('API server proxy to Service lg-1-lab85/web:80/');
  });
});
