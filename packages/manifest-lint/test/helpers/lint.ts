/** Test shortcuts: lint in-memory files with chosen checks. */
import { lintRepository, type LintRepositoryOptions, type LintResult } from '../../src/index.js';
import { memoryRepo, type MemoryFile } from './memory-repo.js';

export async function lintFiles(
  files: Record<string, MemoryFile>,
  options: LintRepositoryOptions = {},
): Promise<LintResult> {
  return lintRepository(memoryRepo(files), options);
}

/** `file:line` of each finding of one check, sorted. */
export function lines(result: LintResult, checkId?: string): string[] {
  return result.findings
    .filter((f) => !checkId || f.checkId === checkId)
    .map((f) => `${f.location?.file}:${f.location?.line}`);
}
