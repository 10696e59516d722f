// worker.js: the Cloudflare-Workers-style ES module entry (workerd, wrangler): imports
// the driver's wasm as a precompiled WebAssembly.Module and serves `handle`.
import driver from './pkg/sensu_reactio_edge_bg.wasm';
import { init, handle } from './handle.js';

init(driver);

export { handle };

export default {
  fetch(request, env) {
    return handle(request, env);
  },
};
