/**
 * Superseding: a newer push to the same branch or pull request replaces the
 * older job, queued or running. BullMQ cannot cancel an active job from
 * another process (`worker.cancelJob()` works only in the process running
 * it; its Relay, which could carry the request, is still experimental), so:
 *
 *  - a Redis hash per stream (repository + ref + lab, see `gradeJobStream`)
 *    holds the latest job id, its commit and GitHub's push time. The API
 *    claims the stream atomically (one Lua script) when it enqueues; a claim
 *    with an older push time than the one held (deliveries out of order) does
 *    not move it;
 *  - the same script PUBLISHes `{ jobId, supersededBy }` on the queue's
 *    supersede channel when the claim replaced another job;
 *  - workers subscribe and abort the job's AbortController if they run it;
 *    they also re-read the stream of each running job every few seconds (a
 *    message sent while their subscriber was reconnecting is not lost), and a
 *    queued job is checked when it is picked up and skipped if superseded.
 *
 * Keys live under the queue's own `<prefix>:<queue>:` namespace, expire after
 * 30 days without a push, and are removed with the queue.
 */
import type { Redis } from 'ioredis';

export interface QueueKeys {
  prefix: string;
  queueName: string;
}

export interface StreamHead {
  jobId: string;
  commit: string;
}

export interface SupersedeMessage extends StreamHead {
  supersededBy: StreamHead;
}

export type ClaimOutcome =
  /** Nothing held the stream. */
  | { outcome: 'first' }
  /** The stream already pointed at this job (a redelivery, the PR event for a pushed commit). */
  | { outcome: 'same' }
  /** This job replaced `previous`, which was told to stop. */
  | { outcome: 'superseded'; previous: StreamHead }
  /** A newer push holds the stream: this job is itself superseded by `latest`. */
  | { outcome: 'stale'; latest: StreamHead };

const STREAM_TTL_SECONDS = 30 * 24 * 3600;

/** claim(streamKey, jobId, commit, pushedAtMs, ttl, channel) → {'first'} | {'same'} | {'superseded'|'stale', jobId, commit} */
const CLAIM_FUNCTION = `
local function claim(key, jobId, commit, pushedAt, ttl, channel)
  local cur = redis.call('HMGET', key, 'jobId', 'commit', 'pushedAt')
  if cur[1] then
    if cur[1] == jobId then
      redis.call('EXPIRE', key, ttl)
      return {'same'}
    end
    if tonumber(cur[3]) > tonumber(pushedAt) then
      return {'stale', cur[1], cur[2]}
    end
  end
  redis.call('HSET', key, 'jobId', jobId, 'commit', commit, 'pushedAt', pushedAt)
  redis.call('EXPIRE', key, ttl)
  if cur[1] then
    redis.call('PUBLISH', channel, cjson.encode({jobId = cur[1], commit = cur[2], supersededBy = {jobId = jobId, commit = commit}}))
    return {'superseded', cur[1], cur[2]}
  end
  return {'first'}
end
`;

const CLAIM_SCRIPT = `${CLAIM_FUNCTION}
return claim(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`;

/**
 * What `enqueueGrade` does right behind BullMQ's add, in the same pipeline (one round trip, a few
 * bytes back): whether the stored job is this request's (its data holds the request id), whether it
 * finished without grading (failed, or superseded), recording its pull request, and claiming its
 * stream. Redis runs it after the add (same connection, same pipeline), and only a job that is there
 * claims anything: when the add failed (and no earlier request made the job), nothing is claimed or
 * recorded, and no older job is told to stop.
 *
 * KEYS: job hash, stream hash, pull-request set.
 * ARGV: requestId, jobId, commit, pushedAtMs, streamTtl, channel, claim ('1'|'0'), pr ('' = none), prTtl.
 * Returns {mine '1'|'0', finished 'failed'|'superseded'|'', claim outcome, its jobId, its commit}.
 */
const AFTER_ADD_SCRIPT = `${CLAIM_FUNCTION}
local job = redis.call('HMGET', KEYS[1], 'data', 'finishedOn', 'failedReason', 'returnvalue')
if not job[1] then return {'0', '', 'absent', '', ''} end
local mine = '0'
if string.find(job[1], ARGV[1], 1, true) then mine = '1' end
local finished = ''
if mine == '0' and job[2] then
  if job[4] and string.find(job[4], '"outcome":"superseded"', 1, true) then finished = 'superseded'
  elseif job[3] then finished = 'failed' end
end
if ARGV[8] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[8])
  redis.call('EXPIRE', KEYS[3], ARGV[9])
end
local c = {'none'}
if ARGV[7] == '1' then c = claim(KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) end
return {mine, finished, c[1], c[2] or '', c[3] or ''}
`;

export interface AfterAdd {
  /** The stored job is this request's: it was queued now. */
  mine: boolean;
  /** It is another request's and finished without a grade. */
  finished?: 'failed' | 'superseded';
  claim?: ClaimOutcome;
}

export type AfterAddArgs = [
  jobKey: string,
  streamKey: string,
  prsKey: string,
  requestId: string,
  jobId: string,
  commit: string,
  pushedAtMs: string,
  ttl: string,
  channel: string,
  claim: string,
  pr: string,
  prTtl: string,
];

/** A connection or pipeline with the afterAdd script defined. */
export interface AfterAddCommander {
  labgraderAfterAdd(...args: AfterAddArgs): unknown;
}

/** Defines the afterAdd script on this connection (once; pipelines created afterwards have it too). */
export function defineAfterAdd(redis: Redis): Redis & AfterAddCommander {
  const r = redis as Redis & Partial<AfterAddCommander>;
  if (typeof r.labgraderAfterAdd !== 'function') {
    redis.defineCommand('labgraderAfterAdd', { numberOfKeys: 3, lua: AFTER_ADD_SCRIPT });
  }
  return r as Redis & AfterAddCommander;
}

export interface AfterAddRequest {
  jobKey: string;
  prsKey: string;
  requestId: string;
  jobId: string;
  commit: string;
  pushedAt: string;
  stream?: string;
  pullRequest?: number;
  prTtlSeconds: number;
}

export function afterAddArgs(keys: QueueKeys, args: AfterAddRequest): AfterAddArgs {
  return [
    args.jobKey,
    args.stream ? streamKey(keys, args.stream) : `${keys.prefix}:${keys.queueName}:lg-stream:`,
    args.prsKey,
    args.requestId,
    args.jobId,
    args.commit,
    String(Date.parse(args.pushedAt)),
    String(STREAM_TTL_SECONDS),
    supersedeChannel(keys),
    args.stream ? '1' : '0',
    args.pullRequest ? String(args.pullRequest) : '',
    String(args.prTtlSeconds),
  ];
}

/** The script's reply; an absent job (the add did not happen) is an error: the job was not enqueued. */
export function parseAfterAdd(reply: unknown, args: AfterAddArgs): AfterAdd {
  const [mine, finished, outcome, jobId, commit] = Array.isArray(reply) ? (reply as string[]) : [];
  if (outcome === 'absent') throw new Error(`job ${args[4]} is not in Redis after its add`);
  return {
    mine: mine === '1',
    ...(finished === 'failed' || finished === 'superseded' ? { finished } : {}),
    ...(args[9] === '1' ? { claim: parseClaim([outcome, jobId, commit]) } : {}),
  };
}

type ClaimArgs = [key: string, jobId: string, commit: string, pushedAtMs: string, ttl: string, channel: string];
type ClaimingRedis = Redis & { labgraderClaimStream(...args: ClaimArgs): Promise<unknown> };

export interface StreamClaim {
  stream: string;
  jobId: string;
  commit: string;
  /** ISO 8601, GitHub's push time. */
  pushedAt: string;
}

/** Defines the claim script on this connection (once; pipelines created afterwards have it too). */
export function defineClaimStream(redis: Redis): ClaimingRedis {
  const r = redis as ClaimingRedis;
  if (typeof r.labgraderClaimStream !== 'function') {
    redis.defineCommand('labgraderClaimStream', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  }
  return r;
}

function claimArgs(keys: QueueKeys, claim: StreamClaim): ClaimArgs {
  return [
    streamKey(keys, claim.stream),
    claim.jobId,
    claim.commit,
    String(Date.parse(claim.pushedAt)),
    String(STREAM_TTL_SECONDS),
    supersedeChannel(keys),
  ];
}

export function streamKey(keys: QueueKeys, stream: string): string {
  return `${keys.prefix}:${keys.queueName}:lg-stream:${stream}`;
}

export function supersedeChannel(keys: QueueKeys): string {
  return `${keys.prefix}:${keys.queueName}:lg-superseded`;
}

export function parseClaim(reply: unknown): ClaimOutcome {
  const [outcome, jobId, commit] = Array.isArray(reply) ? (reply as string[]) : [];
  if (outcome === 'superseded' && jobId && commit) return { outcome, previous: { jobId, commit } };
  if (outcome === 'stale' && jobId && commit) return { outcome, latest: { jobId, commit } };
  if (outcome === 'same') return { outcome };
  return { outcome: 'first' };
}

/** Claims `stream` for `jobId`; see the module comment. */
export async function claimStream(redis: Redis, keys: QueueKeys, claim: StreamClaim): Promise<ClaimOutcome> {
  return parseClaim(await defineClaimStream(redis).labgraderClaimStream(...claimArgs(keys, claim)));
}

/** The job currently holding `stream`, if any. */
export async function streamHead(redis: Redis, keys: QueueKeys, stream: string): Promise<StreamHead | undefined> {
  const [jobId, commit] = await redis.hmget(streamKey(keys, stream), 'jobId', 'commit');
  return jobId && commit ? { jobId, commit } : undefined;
}

/** Parses a supersede channel message; undefined for anything else. */
export function parseSupersedeMessage(text: string): SupersedeMessage | undefined {
  try {
    const m = JSON.parse(text) as Partial<SupersedeMessage>;
    if (
      typeof m.jobId === 'string' &&
      typeof m.commit === 'string' &&
      typeof m.supersededBy?.jobId === 'string' &&
      typeof m.supersededBy.commit === 'string'
    ) {
      return {
        jobId: m.jobId,
        commit: m.commit,
        supersededBy: { jobId: m.supersededBy.jobId, commit: m.supersededBy.commit },
      };
    }
  } catch {
    /* not ours */
  }
  return undefined;
}

/**
 * What a worker runs beside its BullMQ worker: the supersede subscription
 * plus a periodic re-check of the streams of the jobs it runs. `track`
 * registers a running job; the returned signal aborts (reason: a
 * `SupersededError`) when a newer push replaces it.
 */
export interface SupersedeWatcher {
  track(jobId: string, stream: string | undefined): { signal: AbortSignal; untrack(): void };
  /** Whether `stream` now belongs to another job (checked when a queued job is picked up). */
  supersededNow(jobId: string, stream: string | undefined): Promise<StreamHead | undefined>;
  close(): Promise<void>;
}

export class SupersededError extends Error {
  override name = 'SupersededError';
  constructor(readonly supersededBy: StreamHead) {
    super(`superseded by a newer push (${supersededBy.commit.slice(0, 12)})`);
  }
}

export function startSupersedeWatcher(options: {
  /** A worker-role connection; a subscriber connection is duplicated from it. */
  connection: Redis;
  keys: QueueKeys;
  /** How often running jobs' streams are re-read (default 5 s). */
  pollIntervalMs?: number;
  onError?: (err: unknown) => void;
}): SupersedeWatcher {
  const { connection, keys } = options;
  const running = new Map<string, { controller: AbortController; stream: string | undefined }>();
  const abort = (jobId: string, by: StreamHead) => {
    const entry = running.get(jobId);
    if (entry && !entry.controller.signal.aborted) entry.controller.abort(new SupersededError(by));
  };
  const channel = supersedeChannel(keys);
  const subscriber = connection.duplicate({
    connectionName: `${connection.options.connectionName ?? 'labgrader'}-supersede`,
  });
  subscriber.on('error', (err) => options.onError?.(err));
  subscriber.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    const message = parseSupersedeMessage(text);
    if (message) abort(message.jobId, message.supersededBy);
  });
  // ioredis re-subscribes after a reconnect by itself.
  void subscriber.subscribe(channel).catch((err: unknown) => options.onError?.(err));

  const check = async (jobId: string, stream: string | undefined): Promise<StreamHead | undefined> => {
    if (!stream) return undefined;
    const head = await streamHead(connection, keys, stream);
    return head && head.jobId !== jobId ? head : undefined;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling || running.size === 0) return;
    polling = true;
    void (async () => {
      for (const [jobId, entry] of running) {
        const by = await check(jobId, entry.stream);
        if (by) abort(jobId, by);
      }
    })()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => (polling = false));
  }, options.pollIntervalMs ?? 5_000);
  timer.unref();

  return {
    track(jobId, stream) {
      const controller = new AbortController();
      running.set(jobId, { controller, stream });
      return { signal: controller.signal, untrack: () => running.delete(jobId) };
    },
    supersededNow: check,
    async close() {
      clearInterval(timer);
      running.clear();
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}
