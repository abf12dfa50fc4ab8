#!/usr/bin/env node
/**
 * The floor of bench/intake: a bare node:http server that does only what every webhook receiver
 * must (read the body, check its HMAC-SHA256 in constant time, parse the JSON) and answers 202,
 * queueing nothing. Driven by the same client in the same run as labgrader-api, it shows what this
 * machine and this client can do at all: the rest of the API's cost is queueing, logging and
 * accounting. Same environment as the API (PORT, HOST, GITHUB_WEBHOOK_SECRET).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.GITHUB_WEBHOOK_SECRET ?? '';
const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? '').slice('sha256='.length), 'hex');
    const expected = createHmac('sha256', secret).update(body).digest();
    let status = 401;
    let text = '{"error":"bad signature"}';
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      const payload = JSON.parse(body.toString('utf8'));
      status = 202;
      text = JSON.stringify({ status: 'queued', jobId: `${payload.repository?.full_name}@${payload.after}` });
    }
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
