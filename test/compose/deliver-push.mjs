// Delivers a GitHub push webhook, signed like GitHub signs it (X-Hub-Signature-256: HMAC-SHA256
// of the body with the webhook secret), to the api of the compose test:
//   GITHUB_WEBHOOK_SECRET=… node test/compose/deliver-push.mjs <api-url> <full_name> <clone_url> <sha>
// Prints the api's JSON answer (202 {status: queued, jobId}) on stdout; exit 1 on another status.
// The secret comes from the environment and is never printed.
import { createHmac, randomUUID } from 'node:crypto';

const [url, fullName, cloneUrl, sha] = process.argv.slice(2);
const secret = process.env.GITHUB_WEBHOOK_SECRET;
if (!url || !fullName || !cloneUrl || !sha || !secret) {
  console.error('usage: GITHUB_WEBHOOK_SECRET=… deliver-push.mjs <api-url> <full_name> <clone_url> <sha>');
  process.exit(2);
}
const [owner, name] = fullName.split('/');
const payload = {
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: sha,
  created: true,
  deleted: false,
  forced: false,
  repository: {
    id: 850001,
    name,
    full_name: fullName,
    private: false,
    owner: { login: owner, name: owner },
    clone_url: cloneUrl,
    default_branch: 'main',
    pushed_at: Math.floor(Date.now() / 1000),
  },
  pusher: { name: 'alice', email: 'alice@example.edu' },
  sender: { login: 'alice', id: 8501, type: 'User' },
  head_commit: { id: sha, message: 'Lab 85', timestamp: new Date().toISOString() },
};
const body = JSON.stringify(payload);
const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
const response = await fetch(`${url}/webhooks/github`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/labgrader-compose-test',
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': signature,
  },
  body,
});
const text = await response.text();
console.log(text);
process.exit(response.status === 202 ? 0 : 1);
