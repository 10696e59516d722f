//! handle.d.ts: types of `sensu-reactio/edge`, the gateway for JS edge runtimes.

/** Instantiate the driver from a precompiled `WebAssembly.Module` (once). */
export function init(module: WebAssembly.Module): void;

/** What `handle` may be given instead of the globals (tests, other runtimes). */
export interface HandleOptions {
  /** Performs the core's requests to Reactio (default: `globalThis.fetch`). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** The clock, epoch seconds (default: `Date.now() / 1000`). */
  now?: () => number;
}

/**
 * Handle one inbound `POST` of a Sensu event (`Authorization: Bearer <token>`):
 * `env.SENSU_REACTIO_GATEWAY_CONFIG` holds the gateway configuration (JSON text), and
 * `REACTIO_*` string bindings (e.g. the `REACTIO_API_KEY` secret) are its environment.
 * Resolves to the answer docs/gateways.md lists (200, 400, 401, 405, 413, 422, 500, 503).
 */
export function handle(request: Request, env: Record<string, unknown> | undefined, options?: HandleOptions): Promise<Response>;
