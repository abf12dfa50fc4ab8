import { describe, expect, it } from '@jest/globals';
import { InfrastructureError } from '@labgrader/core';
import { createServiceLogger } from '@labgrader/queue';
import { LogCapture } from './support/services.js';

const WEBHOOK_SECRET = 'whsec-correct-horse-battery-staple';
const TOKEN = 'ghs_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

describe('service logger', () => {
  it('writes JSON lines with level, service and fields', () => {
    const out = new LogCapture();
    const logger = createServiceLogger({ name: 'labgrader-test', destination: out, level: 'debug' });
    logger.child({ jobId: 'j1' }).info('job done', { points: 100 });
    expect(out.entries()[0]).toMatchObject({
      level: 'info',
      service: 'labgrader-test',
      jobId: 'j1',
      points: 100,
      msg: 'job done',
    });
  });

  it('never writes the webhook secret or a clone token, wherever they appear', () => {
    const out = new LogCapture();
    const logger = createServiceLogger({
      name: 'labgrader-test',
      destination: out,
      secrets: [WEBHOOK_SECRET, '', undefined],
    });
    logger.info(`config loaded with ${WEBHOOK_SECRET}`);
    logger.warn('clone failed', {
      url: `https://x-access-token:${TOKEN}@github.com/course-org/lab.git`,
      stderr: `fatal: Authentication failed for token ${TOKEN}`,
      nested: { header: `Authorization: Bearer ${TOKEN}`, list: [WEBHOOK_SECRET] },
      token: 'anything',
      webhookSecret: 'whatever',
    });
    logger.error('boom', { error: new InfrastructureError(`git said ${TOKEN}`, { cause: new Error(WEBHOOK_SECRET) }) });
    logger.child({ secret: WEBHOOK_SECRET, repo: `https://${TOKEN}@github.com/x/y` }).info('child');

    expect(out.lines).toHaveLength(4);
    expect(out.text).not.toContain(WEBHOOK_SECRET);
    expect(out.text).not.toContain(TOKEN);
    expect(out.text).not.toContain('A1b2C3d4');
    const [loaded, clone, boom, child] = out.entries();
    expect(loaded!.msg).toBe('config loaded with [REDACTED]');
    expect(clone).toMatchObject({
      token: '[REDACTED]',
      webhookSecret: '[REDACTED]',
      url: 'https://[REDACTED]@github.com/course-org/lab.git',
    });
    expect(boom).toMatchObject({
      error: { type: 'InfrastructureError', message: 'git said ghs_[REDACTED]', cause: { message: '[REDACTED]' } },
    });
    expect(child).toMatchObject({ secret: '[REDACTED]', repo: 'https://[REDACTED]@github.com/x/y' });
  });
});
