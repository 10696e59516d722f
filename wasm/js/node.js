//! node.js: the Node entry: instantiates the .wasm shipped beside it at import, synchronously.
import { readFileSync } from 'node:fs';
import { initSync as wbgInitSync } from './pkg/sensu_reactio.js';
import { markReady } from './api.js';

wbgInitSync({ module: readFileSync(new URL('./pkg/sensu_reactio_bg.wasm', import.meta.url)) });
markReady();

/** Already done under Node; kept so code runs unchanged on every entry. */
export async function init() {}

/** Already done under Node; kept so code runs unchanged on every entry. */
export function initSync() {}

export { Session, SensuReactioError, resume, dryRunAnswer } from './api.js';
