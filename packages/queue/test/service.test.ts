import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError } from '@labgrader/core';
import { parseServiceEnv, urlPassword } from '../src/index.js';

const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  TOKEN: z.string({ error: 'is required' }).min(20, 'must be at least 20 characters'),
});

describe('parseServiceEnv', () => {
  it('treats empty variables as unset, so defaults apply', () => {
    expect(parseServiceEnv(schema, { PORT: '', TOKEN: 'x'.repeat(20) })).toEqual({ PORT: 3000, TOKEN: 'x'.repeat(20) });
  });

  it('names every bad variable and never echoes a value', () => {
    let caught: unknown;
    try {
      parseServiceEnv(schema, { PORT: '99999', TOKEN: 'hunter2-secret' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems).toEqual([expect.stringMatching(/^PORT: /), 'TOKEN: must be at least 20 characters']);
    expect(error.message).toMatch(/^invalid configuration:\n {2}PORT: .*\n {2}TOKEN: /);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('99999');
  });
});

describe('urlPassword', () => {
  it('returns the decoded password of a connection URL', () => {
    expect(urlPassword('postgres://grader:p%40ss%2Fw0rd@db:5432/labgrader')).toBe('p@ss/w0rd');
    expect(urlPassword('redis://:s3cret@127.0.0.1:6379')).toBe('s3cret');
  });

  it('returns undefined when there is none or the URL does not parse', () => {
    expect(urlPassword('redis://127.0.0.1:6379')).toBeUndefined();
    expect(urlPassword('not a url')).toBeUndefined();
  });
});
