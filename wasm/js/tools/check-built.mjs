// check-built.mjs: refuse to pack the npm package without its wasm builds (`npm pack` runs it).
import { accessSync } from 'node:fs';

const needed = ['pkg/sensu_reactio_bg.wasm', 'pkg/sensu_reactio.js', 'edge/pkg/sensu_reactio_edge_bg.wasm', 'edge/pkg/sensu_reactio_edge.js', 'LICENSE'];
const missing = needed.filter((f) => {
  try {
    accessSync(new URL(`../${f}`, import.meta.url));
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(`error: the package is not built (missing ${missing.join(', ')}); run ./x build from the repository root first`);
  process.exit(1);
}
