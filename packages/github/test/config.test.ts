import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '@labgrader/core';
import { describeGithubApp, githubCloneUrlRoot, loadGithubAppConfig } from '@labgrader/github';

const PEM = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

function problems(env: Record<string, string | undefined>, readFile?: (p: string) => string): string[] {
  try {
    loadGithubAppConfig(env, readFile ? { readFile } : {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    // Never the value: not the key, not a line of it, not the id.
    for (const text of [e.message, ...e.problems, e.hint ?? '']) {
      expect(text).not.toContain(PEM.split('\n')[1]!);
      expect(text).not.toContain('s3cr3t');
    }
    return [...e.problems];
  }
  throw new Error('expected a ConfigError');
}

describe('loadGithubAppConfig', () => {
  test('no App configured: undefined (empty variables count as unset)', () => {
    expect(loadGithubAppConfig({})).toBeUndefined();
    expect(
      loadGithubAppConfig({ GITHUB_APP_ID: '', GITHUB_APP_PRIVATE_KEY: '', GITHUB_URL: 'https://github.com' }),
    ).toBeUndefined();
  });

  test('the App id and the PEM, with the defaults for the hosts', () => {
    expect(loadGithubAppConfig({ GITHUB_APP_ID: '123456', GITHUB_APP_PRIVATE_KEY: PEM })).toEqual({
      appId: '123456',
      privateKey: PEM.trim(),
      apiUrl: 'https://api.github.com',
      webUrl: 'https://github.com',
    });
  });

  test('a one-line key with \\n escapes, a key file, GitHub Enterprise Server hosts, the public URL', () => {
    const oneLine = PEM.trim().replace(/\n/g, '\\n');
    expect(loadGithubAppConfig({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: oneLine })!.privateKey).toBe(PEM.trim());
    const config = loadGithubAppConfig(
      {
        GITHUB_APP_ID: '7',
        GITHUB_APP_PRIVATE_KEY_FILE: '/run/secrets/github-app.pem',
        GITHUB_API_URL: 'https://github.example.edu/api/v3/',
        GITHUB_URL: 'https://github.example.edu/',
        LABGRADER_PUBLIC_URL: 'https://grader.example.edu',
      },
      { readFile: (p) => (p === '/run/secrets/github-app.pem' ? PEM : '') },
    )!;
    expect(config).toMatchObject({
      apiUrl: 'https://github.example.edu/api/v3',
      webUrl: 'https://github.example.edu',
      publicUrl: 'https://grader.example.edu',
    });
    expect(githubCloneUrlRoot(config).text).toBe('https://github.example.edu/');
  });

  test('half-configured: an error naming the missing variable', () => {
    expect(problems({ GITHUB_APP_ID: '7' })).toEqual([expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY: is required/)]);
    expect(problems({ GITHUB_APP_PRIVATE_KEY: PEM })).toEqual([expect.stringMatching(/^GITHUB_APP_ID: is required/)]);
    expect(problems({ GITHUB_APP_PRIVATE_KEY_FILE: '/x' }, () => PEM)).toEqual([
      expect.stringMatching(/^GITHUB_APP_ID: is required/),
    ]);
  });

  test('invalid values are named, never echoed', () => {
    expect(problems({ GITHUB_APP_ID: 's3cr3t', GITHUB_APP_PRIVATE_KEY: PEM })).toEqual([
      expect.stringMatching(/^GITHUB_APP_ID: must be the App's numeric id/),
    ]);
    expect(problems({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: 's3cr3t' })).toEqual([
      expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY: must be a PEM private key/),
    ]);
    const mangled = PEM.replace(/\n/g, ' ');
    expect(problems({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: mangled })).toEqual([
      expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY: is not a readable PEM private key/),
    ]);
    expect(problems({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: PEM, GITHUB_APP_PRIVATE_KEY_FILE: '/x' })).toEqual([
      'GITHUB_APP_PRIVATE_KEY, GITHUB_APP_PRIVATE_KEY_FILE: set one of them, not both',
    ]);
    const missing = Object.assign(new Error('ENOENT: no such file, open /x'), { code: 'ENOENT' });
    expect(
      problems({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY_FILE: '/x' }, () => {
        throw missing;
      }),
    ).toEqual([expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY_FILE: cannot be read \(ENOENT\)/)]);
  });

  test('hosts: https (http only on loopback), no credentials, no query', () => {
    const base = { GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: PEM };
    expect(problems({ ...base, GITHUB_API_URL: 'http://api.github.com' })).toEqual([
      expect.stringMatching(/^GITHUB_API_URL: must use https/),
    ]);
    expect(problems({ ...base, GITHUB_URL: 'https://user:s3cr3t@github.com' })).toEqual([
      'GITHUB_URL: must not contain credentials',
    ]);
    expect(problems({ ...base, GITHUB_API_URL: 'https://api.github.com/?x=1' })).toEqual([
      'GITHUB_API_URL: must not have a query or a fragment',
    ]);
    expect(problems({ ...base, GITHUB_URL: 'github.com' })).toEqual([
      expect.stringMatching(/^GITHUB_URL: must be an absolute URL/),
    ]);
    expect(loadGithubAppConfig({ ...base, GITHUB_API_URL: 'http://127.0.0.1:8080' })!.apiUrl).toBe(
      'http://127.0.0.1:8080',
    );
    // Bad host variables fail even without an App, rather than being ignored.
    expect(problems({ GITHUB_URL: 'ftp://github.com' })).toEqual(['GITHUB_URL: must be an https:// URL']);
  });

  test('the start-up line says what the service can and cannot do, without the key', () => {
    expect(describeGithubApp(undefined)).toContain('nothing is reported to GitHub');
    const line = describeGithubApp(loadGithubAppConfig({ GITHUB_APP_ID: '7', GITHUB_APP_PRIVATE_KEY: PEM }));
    expect(line).toContain('GitHub App 7');
    expect(line).not.toContain('PRIVATE KEY');
  });
});
