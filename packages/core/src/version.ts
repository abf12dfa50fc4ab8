/** The labgrader release, stamped into reports and SARIF. Kept in sync with package.json by a test. */
export const LABGRADER_VERSION = '0.1.0';
