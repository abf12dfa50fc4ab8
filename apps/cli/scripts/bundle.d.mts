/** Types of scripts/bundle.mjs, for its tests. */
import type { BuildResult } from 'esbuild';

export function bundle(options?: { outfile?: string; metafile?: boolean }): Promise<BuildResult>;
export function asciiWherePossible(code: string): { code: string; grown: number[] };
export function shiftSourceMap<Map extends { mappings: string }>(map: Map, code: string, grown: number[]): Map;
