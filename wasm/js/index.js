//! index.js: the entry for browsers, edge workers and bundlers: call `init()` or `initSync()` once first.
import wbgInit, { initSync as wbgInitSync } from './pkg/sensu_reactio.js';
import { markReady } from './api.js';

/**
 * Instantiate the module: with no argument it is fetched from beside this file
 * (bundlers rewrite that URL); or pass a URL, a Response, bytes or a `WebAssembly.Module`.
 */
export async function init(input) {
  await wbgInit(input === undefined ? undefined : { module_or_path: input });
  markReady();
}

/** Instantiate synchronously from bytes or a `WebAssembly.Module` (edge workers import the .wasm as a module). */
export function initSync(module) {
  wbgInitSync({ module });
  markReady();
}

export { Session, SensuReactioError, resume, dryRunAnswer } from './api.js';
