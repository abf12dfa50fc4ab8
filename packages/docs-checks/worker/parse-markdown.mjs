// Parses Markdown to mdast (with positions) in a worker thread, so that the
// docs stage can stop a parse that takes too long: micromark is superlinear
// on some inputs (deeply nested containers, long runs of lazy blockquote
// lines, nested emphasis), and a synchronous parse on the main thread could
// not be interrupted by the stage's time budget. Plain JavaScript because
// worker threads load files without the TypeScript transform.
import { parentPort } from 'node:worker_threads';
import { remark } from 'remark';
import remarkGfm from 'remark-gfm';

const processor = remark().use(remarkGfm);

parentPort.on('message', (message) => {
  try {
    const tree = processor.parse(message.text);
    parentPort.postMessage({ ok: true, tree });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
