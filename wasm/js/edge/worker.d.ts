//! worker.d.ts: types of `sensu-reactio/edge/worker`, the Workers-style module entry.

export { handle } from './handle.js';

declare const worker: {
  fetch(request: Request, env: Record<string, unknown>): Promise<Response>;
};
export default worker;
