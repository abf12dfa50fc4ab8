/** Labels labgrader puts on what it creates (a leaf module: plan and isolation both need them). */
export const JOB_LABEL = 'labgrader.dev/job';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'labgrader' } as const;

export type Json = Record<string, unknown>;
