#!/usr/bin/env node
/**
 * Webhook intake benchmark: signed GitHub push deliveries against the real
 * labgrader-api process (apps/api/dist/main.js) on loopback, with the
 * machine's Redis and the GitHub App configured (check runs created `queued`
 * in the background against a minimal GitHub stub on loopback), driven by
 * autocannon at 10 and 100 connections.
 *
 * Every request is a distinct push (its own `after` SHA, its own delivery
 * id), signed with the webhook secret when it is sent. Afterwards every
 * accepted delivery must be exactly one job in Redis: accepted (202
 * `queued`) = jobs in the queue, no other status, no duplicates.
 *
 *   node bench/intake/run.mjs [--requests 20000] [--connections 10,100] [--profile] [--api <path to main.js>] [--no-floor]
 *
 * Each connection count is also run against floor-server.mjs (a bare node:http server that only
 * verifies and parses, queueing nothing): the machine's and the client's own limit, in the same run.
 * The client's CPU per delivery (this process: autocannon, the signing, the GitHub stub) is printed
 * too: on a 2-core machine the client, the API and Redis share the same two cores.
 *
 * A run sends a fixed number of requests (after 2,000 of warm-up), so that every
 * request gets its answer and the count of jobs can be compared exactly.
 *
 * --profile writes a V8 CPU profile of the API (bench/results/intake-*.cpuprofile)
 * and prints where its time went, by function.
 */
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const REQUESTS = Number(arg('requests', '20000'));
const CONNECTIONS = arg('connections', '10,100').split(',').map(Number);
const PROFILE = args.includes('--profile');
const FLOOR = !args.includes('--no-floor');
const FLOOR_MAIN = fileURLToPath(new URL('./floor-server.mjs', import.meta.url));
/** Without the GitHub App (no check runs): to see what the check-run creation costs. */
const NO_GITHUB = args.includes('--no-github');
const API_MAIN = path.resolve(ROOT, arg('api', 'apps/api/dist/main.js'));
const REDIS_URL = process.env.LABGRADER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = randomBytes(32).toString('hex');
const RESULTS = path.join(ROOT, 'bench/results');
mkdirSync(RESULTS, { recursive: true });

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// -- a minimal GitHub on loopback: installation tokens, list and create check runs --------------
function githubStub() {
  let created = 0;
  let tokens = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const send = (status, body) => {
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-ratelimit-remaining': '4999',
          'x-ratelimit-limit': '5000',
        });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(url.pathname)) {
        tokens += 1;
        return send(201, {
          token: `ghs_${randomBytes(18).toString('hex')}`,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { checks: 'write', metadata: 'read' },
          repository_selection: 'selected',
        });
      }
      if (req.method === 'GET' && /\/check-runs$/.test(url.pathname))
        return send(200, { total_count: 0, check_runs: [] });
      if (req.method === 'POST' && /\/check-runs$/.test(url.pathname)) {
        created += 1;
        return send(201, { id: created, status: 'queued', name: 'labgrader', head_sha: 'x' });
      }
      send(404, { message: 'Not Found' });
    });
  });
  return {
    server,
    stats: () => ({ checkRunsCreated: created, tokensMinted: tokens }),
  };
}

// -- the deliveries -------------------------------------------------------------------------------
const examples = require('@octokit/webhooks-examples');
const push = structuredClone(
  examples
    .find((e) => e.name === 'push')
    .examples.find((p) => p.ref === 'refs/heads/master' && p.installation && !p.deleted),
);
const PLACEHOLDER = 'f'.repeat(40);
push.after = PLACEHOLDER;
// 100 student repositories, pushes spread over them (each push its own commit).
const REPOS = 100;
const templates = Array.from({ length: REPOS }, (_, i) => {
  const p = structuredClone(push);
  p.repository.full_name = `course-org/lab-85-student${i}`;
  p.repository.name = `lab-85-student${i}`;
  p.repository.owner.login = 'course-org';
  p.repository.clone_url = `https://github.com/course-org/lab-85-student${i}.git`;
  p.repository.id = 1000 + i;
  return JSON.stringify(p);
});
let sequence = 0;
const runId = randomBytes(3).toString('hex');
function nextDelivery() {
  sequence += 1;
  const sha = (runId + sequence.toString(16)).padStart(40, '0');
  const body = templates[sequence % REPOS].replace(PLACEHOLDER, sha);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
  };
}

async function startApi({ port, prefix, githubUrl, privateKey, profileDir, main = API_MAIN }) {
  const env = {
    PATH: process.env.PATH,
    GITHUB_WEBHOOK_SECRET: SECRET,
    REDIS_URL,
    PORT: String(port),
    HOST: '127.0.0.1',
    GRADE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...(NO_GITHUB
      ? {}
      : {
          GITHUB_APP_ID: '12345',
          GITHUB_APP_PRIVATE_KEY: privateKey,
          GITHUB_API_URL: githubUrl,
          GITHUB_URL: githubUrl,
        }),
  };
  const logFile = path.join(RESULTS, `intake-api-${prefix}.log`);
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), main], {
    env,
    stdio: ['ignore', out, out],
  });
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.ok) return { child, logFile };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the API did not become ready; see ${logFile}`);
}

/** utime + stime of a process, in ms (Linux). */
function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Redis's own CPU time (INFO cpu), in ms. */
async function redisCpuMs() {
  const redis = new Redis(REDIS_URL);
  const info = await redis.info('cpu');
  await redis.quit();
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (sys + user) * 1000;
}

function summarizeProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = dt.reduce((a, b) => a + b, 0);
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const f = node.callFrame;
    const where = f.url
      ? `${f.url
          .replace(/^.*node_modules\//, '')
          .replace(/^file:\/\/.*\/labgrader\//, '')
          .replace(/^file:\/\/\/work\/main\//, '')}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  // Grouped by package / area too.
  const groups = new Map();
  for (const [key, us] of self) {
    const m =
      /(bullmq|ioredis|express|body-parser|raw-body|pino|zod|@octokit[^/]*|octokit|prom-client|router|apps\/api|packages\/[a-z-]+)/.exec(
        key,
      );
    const g = m
      ? m[1]
      : /^\((garbage collector|idle|program)\)/.test(key)
        ? key.split(' ')[0]
        : key.includes('node:')
          ? 'node internals'
          : 'other';
    groups.set(g, (groups.get(g) ?? 0) + us);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  const lines = [`CPU profile ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`];
  lines.push('by area:');
  for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 16))
    lines.push(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${g}`);
  lines.push('top functions (self time):');
  for (const [k, us] of top) lines.push(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return lines.join('\n');
}

/**
 * From the start of a run to its last answer. autocannon's own `duration` ends at the sample tick
 * after the last answer (it notices the end on its `sampleInt` timer, 1 s), so a run of 6.1 s counted
 * as 7 s: every rate printed before 2026-12-03 was under-stated by up to one second of a 6–15 s run.
 */
function sendClock() {
  const start = performance.now();
  let last = start;
  return {
    answered: () => {
      last = performance.now();
    },
    seconds: () => (last - start) / 1000,
  };
}

async function run(connections) {
  const prefix = `lgbench-${runId}-${connections}`;
  const port = await freePort();
  const stub = githubStub();
  await new Promise((r) => stub.server.listen(0, '127.0.0.1', r));
  const githubUrl = `http://127.0.0.1:${stub.server.address().port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
  const profileDir = PROFILE ? path.join(RESULTS, `intake-profile-${prefix}`) : undefined;
  const { child, logFile } = await startApi({ port, prefix, githubUrl, privateKey: pem, profileDir });
  const url = `http://127.0.0.1:${port}/webhooks/github`;
  const statuses = new Map();
  const bodies = new Map();

  const fire = (amount, record) =>
    new Promise((resolve, reject) => {
      const clock = sendClock();
      const instance = autocannon(
        {
          url,
          connections,
          amount,
          pipelining: 1,
          // (autocannon applies setupRequest per entry of `requests`, not at the top level)
          requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...nextDelivery() }) }],
        },
        (err, result) => (err ? reject(err) : resolve({ ...result, sentInS: clock.seconds() })),
      );
      instance.on('response', clock.answered);
      if (record) {
        instance.on('response', (_client, statusCode, _bytes, _time) => {
          statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
        });
      }
    });

  // Warm-up (JIT, connection pools, the token cache), then the measured run; both are checked.
  await fire(2_000, true);
  const cpu0 = processCpuMs(child.pid);
  const redisCpu0 = await redisCpuMs();
  const client0 = process.cpuUsage();
  const result = await fire(REQUESTS, true);
  const clientCpu = process.cpuUsage(client0);
  const apiCpuMs = processCpuMs(child.pid) - cpu0;
  const redisCpuMsUsed = (await redisCpuMs()) - redisCpu0;
  // Let the background check-run creations that are still queued finish their current batch.
  await new Promise((r) => setTimeout(r, 500));

  const redis = new Redis(REDIS_URL);
  const waiting = await redis.llen(`${prefix}:labgrader-grade:wait`);
  const jobKeys = await redis.zcard(`${prefix}:labgrader-grade:id`).catch(() => 0);
  // Every job's id (its hash keys), to check no delivery made two.
  let cursor = '0';
  let jobs = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:labgrader-grade:course-org*`, 'COUNT', 5000);
    cursor = next;
    jobs += keys.filter((k) => !k.endsWith(':logs') && !k.includes(':lg-')).length;
  } while (cursor !== '0');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  stub.server.close();
  // Clean up.
  cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();

  const accepted = statuses.get(202) ?? 0;
  const other = [...statuses].filter(([s]) => s !== 202);
  const errorsDropped =
    /labgrader_errors_total\{component="check-run-queued",kind="backlog-full"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? '0';
  const line = {
    connections,
    requests: REQUESTS,
    durationS: Math.round(result.sentInS * 100) / 100,
    requestsPerSecond: Math.round(result.requests.total / result.sentInS),
    // CPU the API process and Redis used per delivery: comparable across runs even when other work
    // shares the machine (throughput and latency are not).
    apiCpuMsPerDelivery: Math.round((apiCpuMs / REQUESTS) * 1000) / 1000,
    redisCpuMsPerDelivery: Math.round((redisCpuMsUsed / REQUESTS) * 1000) / 1000,
    clientCpuMsPerDelivery: Math.round(((clientCpu.user + clientCpu.system) / 1000 / REQUESTS) * 1000) / 1000,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    sentIncludingWarmup: [...statuses.values()].reduce((a, b) => a + b, 0),
    accepted,
    otherStatuses: Object.fromEntries(other),
    errors: result.errors,
    timeouts: result.timeouts,
    jobsInRedis: jobs,
    waitingList: waiting,
    lostOrDuplicated: accepted - jobs,
    github: { ...stub.stats(), queuedCreationsDroppedWhileGithubWasSlow: Number(errorsDropped) },
    apiLog: path.relative(ROOT, logFile),
  };
  void jobKeys;
  void bodies;
  if (profileDir) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) line.profile = summarizeProfile(path.join(profileDir, file));
  }
  return line;
}

/** The same client against floor-server.mjs: what the machine and the client can do at all. */
async function runFloor(connections) {
  const port = await freePort();
  const { child } = await startApi({ port, prefix: `lgfloor-${runId}`, main: FLOOR_MAIN });
  const url = `http://127.0.0.1:${port}/webhooks/github`;
  const statuses = new Map();
  const fire = (amount) =>
    new Promise((resolve, reject) => {
      const clock = sendClock();
      autocannon(
        {
          url,
          connections,
          amount,
          pipelining: 1,
          requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...nextDelivery() }) }],
        },
        (err, result) => (err ? reject(err) : resolve({ ...result, sentInS: clock.seconds() })),
      )
        .on('response', clock.answered)
        .on('response', (_c, statusCode) => statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1));
    });
  await fire(2_000);
  const cpu0 = processCpuMs(child.pid);
  const client0 = process.cpuUsage();
  const result = await fire(REQUESTS);
  const clientCpu = process.cpuUsage(client0);
  const serverCpuMs = processCpuMs(child.pid) - cpu0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    floor: 'bare node:http: verify + parse + 202, no queue (floor-server.mjs)',
    connections,
    requests: REQUESTS,
    requestsPerSecond: Math.round(result.requests.total / result.sentInS),
    serverCpuMsPerDelivery: Math.round((serverCpuMs / REQUESTS) * 1000) / 1000,
    clientCpuMsPerDelivery: Math.round(((clientCpu.user + clientCpu.system) / 1000 / REQUESTS) * 1000) / 1000,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    statuses: Object.fromEntries(statuses),
  };
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
console.log(`# intake bench, ${new Date().toISOString()}, ${machine}, node ${process.version}`);
const all = [];
for (const c of CONNECTIONS) {
  const line = await run(c);
  all.push(line);
  const { profile, ...rest } = line;
  console.log(JSON.stringify(rest));
  if (profile) console.log(profile);
  if (FLOOR) {
    const floor = await runFloor(c);
    all.push(floor);
    console.log(JSON.stringify(floor));
  }
}
writeFileSync(path.join(RESULTS, `intake-${runId}.json`), JSON.stringify({ machine, results: all }, null, 2));
const failed = all.some(
  (l) => !l.floor && (l.lostOrDuplicated !== 0 || Object.keys(l.otherStatuses).length > 0 || l.errors > 0),
);
process.exit(failed ? 1 : 0);
