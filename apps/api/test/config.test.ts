import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@labgrader/core';
import { loadApiConfig } from '../src/index.js';

const SECRET = 's3cr3t-value-that-must-never-be-printed';

function problems(env: Record<string, string | undefined>): string {
  try {
    loadApiConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('API configuration', () => {
  it('has defaults for everything but the secret', () => {
    expect(loadApiConfig({ GITHUB_WEBHOOK_SECRET: SECRET })).toEqual({
      webhookSecret: SECRET,
      previousWebhookSecrets: [],
      redisUrl: 'redis://127.0.0.1:6379',
      port: 3000,
      host: '0.0.0.0',
      queueName: 'labgrader-grade',
      queuePrefix: 'labgrader',
      rubricId: 'lab-85',
      bodyLimit: '2mb',
      logLevel: 'info',
    });
  });

  it('names each bad variable and never echoes a value', () => {
    const text = problems({
      GITHUB_WEBHOOK_SECRET: 'short-secret',
      GITHUB_WEBHOOK_SECRET_PREVIOUS: 'old',
      REDIS_URL: 'http://user:hunter2@redis:6379',
      PORT: 'eighty',
      LABGRADER_RUBRIC: '../rubrics/mine.yaml',
      WEBHOOK_BODY_LIMIT: 'lots',
      LOG_LEVEL: 'loud',
    });
    expect(text).toMatch(/^GITHUB_WEBHOOK_SECRET: must be at least 16 characters/m);
    expect(text).toMatch(/^GITHUB_WEBHOOK_SECRET_PREVIOUS: must be at least 16 characters/m);
    expect(text).toMatch(/^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/m);
    expect(text).toMatch(/^PORT: /m);
    expect(text).toMatch(/^LABGRADER_RUBRIC: must be a rubric id/m);
    expect(text).toMatch(/^WEBHOOK_BODY_LIMIT: /m);
    expect(text).toMatch(/^LOG_LEVEL: /m);
    for (const value of ['short-secret', 'hunter2', 'eighty', 'mine.yaml', 'lots', 'loud'])
      expect(text).not.toContain(value);
  });

  it('requires the webhook secret; an empty variable counts as unset', () => {
    expect(problems({})).toMatch(/^GITHUB_WEBHOOK_SECRET: is required/m);
    expect(problems({ GITHUB_WEBHOOK_SECRET: '' })).toMatch(/^GITHUB_WEBHOOK_SECRET: is required/m);
  });
});
