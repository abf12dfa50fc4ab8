/**
 * The entry point of the bundle (`npm run build` → dist/labgrader.cjs),
 * which the installed command, bin/labgrader.cjs, runs.
 */
import { runAsProcess } from './main.js';

void runAsProcess();
