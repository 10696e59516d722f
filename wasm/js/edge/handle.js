// handle.js: the sensu-reactio gateway for JS edge runtimes: `handle(request, env)`
// over `fetch`. Thin glue: admission, the core's machine and every status code come
// from the wasm driver (wasm/edge, over sensu_reactio_core::gateway); this file only
// reads the request, performs the core's requests with fetch and builds the Response.
import { initSync, Gateway } from './pkg/sensu_reactio_edge.js';

let ready = false;

/** Instantiate the driver from a precompiled `WebAssembly.Module` (once). */
export function init(module) {
  if (!ready) {
    initSync({ module });
    ready = true;
  }
}

/** The worker's string bindings named `REACTIO_*` (e.g. the `REACTIO_API_KEY` secret). */
function reactioVars(env) {
  const vars = {};
  for (const [name, value] of Object.entries(env ?? {})) {
    if (name.startsWith('REACTIO_') && typeof value === 'string') vars[name] = value;
  }
  return JSON.stringify(vars);
}

/** What kind of transport failure an exception from fetch is (the core retries them all). */
function failureKind(error) {
  // Node's fetch (undici) names the cause: a refused or unresolved connection never
  // carried the request, so it may be sent again.
  const code = error?.cause?.code ?? error?.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return 'connect';
  }
  if (['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'].includes(code)) return 'timeout';
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code)) return 'reset';
  const text = `${error?.name ?? ''} ${error?.message ?? ''}`.toLowerCase();
  if (text.includes('timeout') || text.includes('abort')) return 'timeout';
  // Before `connect`: workerd says "Network connection lost." for a connection that
  // broke after the request went out (the server may have acted: not "never sent"),
  // and for one refused, alike: taken as possibly sent, so a broadcast is not repeated.
  if (text.includes('reset') || text.includes('lost') || text.includes('closed')) return 'reset';
  if (text.includes('refused') || text.includes('connect')) return 'connect';
  if (text.includes('tls') || text.includes('certificate')) return 'tls';
  return 'other';
}

/** Send one of the core's requests; its answer (or failure) as the core's answer JSON. */
async function send(fetchImpl, request) {
  const init = {
    method: request.method,
    headers: request.headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(request.timeout_ms),
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
  try {
    const response = await fetchImpl(`${request.scheme}://${request.authority}${request.path}`, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return {
      answer: 'response',
      status: response.status,
      headers: [...response.headers],
      body: new TextDecoder('utf-8').decode(bytes),
    };
  } catch (error) {
    const detail = String(error?.message ?? error).split('\n')[0].toLowerCase().slice(0, 200);
    return { answer: 'failure', kind: failureKind(error), detail };
  }
}

/** The core's inbound body limit (`gateway::MAX_BODY`): a larger body is answered 413. */
const MAX_BODY = 1024 * 1024;

/**
 * The request's body, read no further than `cap` bytes (the rest is not read into
 * memory: a larger body is refused anyway). The token is checked before this.
 */
async function readCapped(request, cap) {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  while (size < cap) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= cap) await reader.cancel().catch(() => {});
  const body = new Uint8Array(Math.min(size, cap));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
    if (at === body.length) break;
  }
  return body;
}

/**
 * Handle one inbound request: `POST` a Sensu event with `Authorization: Bearer <token>`.
 * `env.SENSU_REACTIO_GATEWAY_CONFIG` holds the gateway configuration (JSON);
 * `options.fetch` and `options.now` (epoch seconds) replace the globals (tests).
 */
export async function handle(request, env, options = {}) {
  if (!ready) throw new Error('sensu-reactio edge: call init(module) with the driver\'s WebAssembly.Module first');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? (() => Date.now() / 1000);
  const gateway = new Gateway(env?.SENSU_REACTIO_GATEWAY_CONFIG, reactioVars(env));
  try {
    const authorization = request.headers.get('authorization') ?? undefined;
    // Refused before a byte of the body is read: no token, the wrong one, not POST.
    const early = gateway.refuse(request.method, authorization);
    if (early !== undefined) {
      const { status, headers, body: text } = JSON.parse(early).reply;
      return new Response(text, { status, headers });
    }
    const body = await readCapped(request, MAX_BODY + 1);
    const seconds = now();
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      throw new TypeError(`sensu-reactio edge: options.now() must return epoch seconds (a number), got ${typeof seconds}`);
    }
    let next = JSON.parse(gateway.start(request.method, authorization, body, seconds));
    while (next.send) {
      const answer = await send(fetchImpl, next.send);
      next = JSON.parse(gateway.answer(JSON.stringify(answer)));
    }
    const { status, headers, body: text } = next.reply;
    return new Response(text, { status, headers });
  } finally {
    gateway.free();
  }
}
