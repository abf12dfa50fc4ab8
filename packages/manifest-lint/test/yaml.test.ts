/** The YAML layer: conversion to plain values (as Kubernetes reads them) and recorded positions. */
import { describe, expect, it } from '@jest/globals';
import { findExcessiveNesting, parseYamlFile } from '../src/yaml/parse.js';
import { DocumentSource, SourceText } from '../src/yaml/source.js';

function only(text: string) {
  const parsed = parseYamlFile(text);
  expect(parsed.problems).toEqual([]);
  const doc = parsed.documents[0]!;
  return {
    value: doc.value,
    source: new DocumentSource(
      new SourceText('f.yaml', text),
      doc.start,
      doc.end,
      doc.contentStart,
      doc.value,
      doc.positions,
    ),
  };
}

describe('plain values', () => {
  it('read YAML tags the way Kubernetes does: !!binary is the decoded text, !!str and !!int convert', () => {
    const { value, source } = only(
      [
        'password: !!binary aHVudGVyMmh1bnRlcjI=',
        'block: !!binary |',
        '  aHVu',
        '  dGVy',
        'port: !!str 8080',
        'count: !!int "3"',
        '',
      ].join('\n'),
    );
    expect(value).toEqual({ password: 'hunter2hunter2', block: 'hunter', port: '8080', count: 3 });
    // The decoded value is still placed where it is written (the base64 text after the tag).
    expect(source.locationOf(source.walk(['password']), 'value')).toMatchObject({ line: 1, column: 20 });
  });

  it('resolve merge keys, with written keys winning, and share aliased values', () => {
    const { value } = only(
      [
        'defaults: &d',
        '  cpu: 100m',
        '  memory: 64Mi',
        'web:',
        '  <<: *d',
        '  memory: 128Mi',
        'list: &l [1, 2]',
        'again: *l',
        '',
      ].join('\n'),
    );
    expect(value).toEqual({
      defaults: { cpu: '100m', memory: '64Mi' },
      web: { cpu: '100m', memory: '128Mi' },
      list: [1, 2],
      again: [1, 2],
    });
    const v = value as { list: unknown; again: unknown };
    expect(v.again).toBe(v.list);
  });

  it('read scalars as YAML 1.1 without timestamps', () => {
    const { value } = only('a: yes\nb: Off\nc: 0644\nd: 2024-01-01\ne: ~\nf: "yes"\ng: 1e3\n');
    expect(value).toEqual({ a: true, b: false, c: 420, d: '2024-01-01', e: null, f: 'yes', g: 1000 });
  });
});

describe('positions', () => {
  const text = [
    'apiVersion: v1',
    'kind: Pod',
    'spec:',
    '  containers:',
    '    - name: web',
    '      image: "web:1"',
    '      args: [a, b]',
    '',
  ].join('\n');

  it('place keys and values of nested mappings and lists', () => {
    const { source } = only(text);
    const image = source.walk(['spec', 'containers', 0, 'image']);
    expect(image.depth).toBe(4);
    expect(source.locationOf(image, 'key')).toEqual({ file: 'f.yaml', line: 6, column: 7, endLine: 6, endColumn: 12 });
    expect(source.locationOf(image, 'value')).toMatchObject({ line: 6, column: 14 });
    expect(source.locationOf(source.walk(['spec', 'containers', 0, 'args', 1]), 'value')).toMatchObject({
      line: 7,
      column: 17,
    });
  });

  it('stop at the deepest existing ancestor for missing fields', () => {
    const { source } = only(text);
    const hit = source.walk(['spec', 'containers', 0, 'resources', 'limits']);
    expect(hit.depth).toBe(3);
    expect(source.firstKeyLocation(hit)).toMatchObject({ line: 5, column: 7 });
  });

  it('find text inside a block scalar', () => {
    const { source } = only('data:\n  app.properties: |\n    a=1\n    password=x\n');
    expect(source.locateNeedle(source.walk(['data', 'app.properties']), 'password=x')).toMatchObject({
      line: 4,
      column: 5,
    });
  });
});

describe('nesting pre-check', () => {
  it('measures flow and block nesting without recursion', () => {
    expect(findExcessiveNesting('a: [[[1]]]\n', 3)).toBeGreaterThan(0);
    expect(findExcessiveNesting('a: [[1]]\n', 3)).toBe(-1);
    expect(findExcessiveNesting('a:\n  b:\n    c:\n      d: 1\n', 3)).toBeGreaterThan(0);
    expect(findExcessiveNesting("a: '[[[[[['\n", 3)).toBe(-1);
    expect(findExcessiveNesting('a: 1 # [[[[[[\n', 3)).toBe(-1);
  });
});
