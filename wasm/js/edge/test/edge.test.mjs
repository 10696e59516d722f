// edge.test.mjs: unit tests of the JS edge gateway (handle.js) in Node with an
// injected fetch standing in for Reactio; run `node --test wasm/js/edge/test/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { init, handle } from '../handle.js';

const wasm = new URL('../pkg/sensu_reactio_edge_bg.wasm', import.meta.url);
let bytes;
try {
  bytes = readFileSync(wasm);
} catch (error) {
  throw new Error(`${wasm.pathname} is missing (${error.message}): run scripts/build-gateways.sh (or ./x build)`);
}
init(new WebAssembly.Module(bytes));

const KEY = 'sk-edge-unit-3b7c9d10';
const TOKEN = 'tok-edge-unit-8e2a';
const NOW = 1764000000;
const env = {
  SENSU_REACTIO_GATEWAY_CONFIG: JSON.stringify({
    token: TOKEN,
    config: { settings: { reactio: { endpoint: 'https://reactio.test', request_timeout: 0.2 } } },
  }),
  REACTIO_API_KEY: KEY,
};
const event = JSON.stringify({
  client: { name: 'web01' },
  check: { name: 'check_http', status: 2, output: 'CRITICAL', history: ['0', '2'], interval: 60 },
  action: 'create',
  occurrences: 1,
});

function inbound(body = event, headers = { authorization: `Bearer ${TOKEN}` }, method = 'POST') {
  return new Request('http://gateway.test/events', { method, headers, body: method === 'GET' ? undefined : body });
}

/** A tiny Reactio: incidents in memory, every call recorded. */
function fakeReactio() {
  const incidents = [];
  const calls = [];
  const fetch = async (url, init) => {
    const u = new URL(url);
    const body = init.body ?? '';
    calls.push({ method: init.method, path: u.pathname + u.search, body, key: new Headers(init.headers).get('x-api-key') });
    const json = (status, value) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
    if (init.method === 'GET' && u.pathname === '/api/v1/incidents') {
      const status = u.searchParams.get('status');
      return json(200, incidents.filter((i) => i.status === status));
    }
    if (init.method === 'POST' && u.pathname === '/api/v1/incidents') {
      const incident = { id: incidents.length + 1, name: JSON.parse(body).name, status: 'open', created_at: NOW, updated_at: NOW };
      incidents.push(incident);
      return json(201, incident);
    }
    return json(200, {});
  };
  return { fetch, calls, incidents };
}

const reply = async (response) => ({ status: response.status, headers: response.headers, json: JSON.parse(await response.text()) });

test('a first critical creates one incident through the injected fetch', async () => {
  const reactio = fakeReactio();
  const r = await reply(await handle(inbound(), env, { fetch: reactio.fetch, now: () => NOW }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.result, 'handled');
  assert.equal(r.json.incident.id, 1);
  assert.equal(reactio.incidents.length, 1);
  assert.equal(reactio.calls[0].method, 'GET');
  assert.ok(reactio.calls.some((c) => c.method === 'POST' && c.path === '/api/v1/incidents'));
  assert.ok(reactio.calls.every((c) => c.key === KEY), 'the key goes in x-api-key');
  assert.ok(!JSON.stringify(r.json).includes(KEY) && !JSON.stringify(r.json).includes(TOKEN));
});

test('a refused inbound request never reaches reactio', async () => {
  const reactio = fakeReactio();
  const cases = [
    [inbound(event, {}), 401, 'auth'],
    [inbound(event, { authorization: 'Bearer nope' }), 401, 'auth'],
    [inbound(event, { authorization: `Bearer ${TOKEN}` }, 'GET'), 405, 'method'],
    [inbound('not json'), 400, 'input'],
    [inbound(' '.repeat(2 * 1024 * 1024)), 413, 'too_large'],
  ];
  for (const [request, status, kind] of cases) {
    const r = await reply(await handle(request, env, { fetch: reactio.fetch, now: () => NOW }));
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(r.json.error.kind, kind);
    assert.ok(!JSON.stringify(r.json).includes(TOKEN));
  }
  assert.equal(reactio.calls.length, 0);
});

test('without its configuration it answers 500 saying what to set', async () => {
  const r = await reply(await handle(inbound(), {}, { fetch: fakeReactio().fetch }));
  assert.equal(r.status, 500);
  assert.match(r.json.error.message, /SENSU_REACTIO_GATEWAY_CONFIG is not set/);
});

test('a failing fetch becomes 503 with retry-after, and a hung one times out', async () => {
  const broken = async () => { throw new TypeError('connect ECONNREFUSED 127.0.0.1:9'); };
  let r = await reply(await handle(inbound(), env, { fetch: broken, now: () => NOW }));
  assert.equal(r.status, 503);
  assert.match(r.headers.get('retry-after'), /^\d+$/);
  assert.match(r.json.error.message, /retry after/);
  const hung = (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  const started = Date.now();
  // Node does not keep the process alive for AbortSignal.timeout alone.
  const alive = setTimeout(() => {}, 5000);
  r = await reply(await handle(inbound(), env, { fetch: hung, now: () => NOW }));
  clearTimeout(alive);
  assert.equal(r.status, 503);
  assert.ok(Date.now() - started < 2000, 'the step timeout (0.2 s) bounds the wait');
});

test('a clock that does not give epoch seconds is refused, not taken for 0', async () => {
  const reactio = fakeReactio();
  await assert.rejects(handle(inbound(), env, { fetch: reactio.fetch, now: () => 'soon' }), /must return epoch seconds/);
  assert.equal(reactio.calls.length, 0);
});

test('the bearer scheme is case-insensitive', async () => {
  const reactio = fakeReactio();
  const request = inbound(event, { authorization: `bearer ${TOKEN}` });
  const r = await reply(await handle(request, env, { fetch: reactio.fetch, now: () => NOW }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
});

test('a body is not read without the token, and one far over the limit is not read into memory', async () => {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024).fill(32);
  const endless = new ReadableStream({
    pull(controller) {
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const request = new Request('http://gateway.test/events', { method: 'POST', body: endless, duplex: 'half' });
  const r = await reply(await handle(request, env, { fetch: fakeReactio().fetch, now: () => NOW }));
  assert.equal(r.status, 401, JSON.stringify(r.json));
  // Without the token not a byte is read (a stream may have one chunk ready).
  assert.ok(pulled <= chunk.byteLength, `read ${pulled} bytes of an endless body without the token`);
  const big = new ReadableStream({
    pull(controller) {
      controller.enqueue(chunk);
    },
  });
  const sized = new Request('http://gateway.test/events', {
    method: 'POST', body: big, duplex: 'half', headers: { authorization: `Bearer ${TOKEN}` },
  });
  const t = await reply(await handle(sized, env, { fetch: fakeReactio().fetch, now: () => NOW }));
  assert.equal(t.status, 413, JSON.stringify(t.json));
  assert.match(t.json.error.message, /more than 1048576 bytes/);
});

/**
 * An escalation (warning to critical, both acted) of a check whose incident is open:
 * its broadcast meets `notifyFailure` (thrown by the injected fetch). Returns the
 * reply and how many broadcasts were tried.
 */
async function escalateWhenTheBroadcastFails(notifyFailure) {
  let notifies = 0;
  const fetch = async (url, init) => {
    const u = new URL(url);
    const json = (status, value) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
    if (init.method === 'GET') {
      const open = [{ id: 7, name: 'web01/check_http WARNING', status: 'open', created_at: NOW - 60, manager: null }];
      // The first page is asked for without `page`.
      const first = (u.searchParams.get('page') ?? '1') === '1';
      return json(200, u.searchParams.get('status') === 'open' && first ? open : []);
    }
    if (u.pathname === '/api/v1/notifications') {
      notifies += 1;
      throw notifyFailure();
    }
    return json(200, {});
  };
  const escalation = JSON.stringify({
    client: { name: 'web01' },
    check: { name: 'check_http', status: 2, output: 'CRITICAL', history: ['0', '1', '2'], interval: 60 },
    action: 'create',
    occurrences: 1,
  });
  const settings = JSON.parse(env.SENSU_REACTIO_GATEWAY_CONFIG);
  settings.config.settings.reactio.severities = ['warning', 'critical'];
  const escalating = { ...env, SENSU_REACTIO_GATEWAY_CONFIG: JSON.stringify(settings) };
  const r = await reply(await handle(inbound(escalation), escalating, { fetch, now: () => NOW }));
  return { r, notifies };
}

test('a broadcast whose connection was lost (workerd: "Network connection lost.") is not sent again', async () => {
  const { r, notifies } = await escalateWhenTheBroadcastFails(() => new TypeError('Network connection lost.'));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(notifies, 1);
  assert.match(r.json.warnings.join(' '), /not sent again/);
});

test('a broadcast whose connection Node reports refused (never sent) is tried again', async () => {
  const refused = () =>
    new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
  const { r, notifies } = await escalateWhenTheBroadcastFails(refused);
  assert.equal(notifies, 1);
  assert.equal(r.status, 503, JSON.stringify(r.json));
  assert.match(r.headers.get('retry-after'), /^\d+$/);
});

test('dry_run in the gateway configuration sends nothing and says so', async () => {
  const reactio = fakeReactio();
  const settings = JSON.parse(env.SENSU_REACTIO_GATEWAY_CONFIG);
  settings.config.settings.reactio.dry_run = true;
  const dry = { ...env, SENSU_REACTIO_GATEWAY_CONFIG: JSON.stringify(settings) };
  const r = await reply(await handle(inbound(), dry, { fetch: reactio.fetch, now: () => NOW }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.dry_run, true);
  assert.equal(reactio.calls.length, 0);
});
