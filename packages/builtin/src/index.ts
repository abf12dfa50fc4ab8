export { BUNDLED_RUBRICS_DIR, DEFAULT_RUBRIC, listBundled, loadRubric, resolveRubricPath } from './rubrics.js';
export { builtinCatalog, builtinStages, rubricEnvironment } from './stages.js';
