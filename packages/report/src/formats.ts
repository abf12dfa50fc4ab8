/** The report formats, by themselves (`@labgrader/report/formats`): a command line lists them before it renders anything. */
export const FORMATS = ['text', 'markdown', 'json', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];
