//! plan.mjs: Node benchmark of the JS package: planning a typical event to its first request, and a full first critical with scripted answers.
//
//   node wasm/js/bench/plan.mjs [event.json]   (default: examples/events/classic-critical.json)
//
// Prints ns per call (median of rounds) and calls per second; compare with the native
// `json_api_plan/example` and `first_critical_full_run/example` rows of
// `cargo bench -p sensu-reactio-bench --bench core` (BENCHMARKS.md has the ratios).
import { readFileSync } from 'node:fs';
import { Session } from '../node.js';

const eventPath = process.argv[2] ?? new URL('../../../examples/events/classic-critical.json', import.meta.url);
const event = readFileSync(eventPath, 'utf8');
const config = JSON.stringify({ flags: { api_key: 'sk-bench-0123456789abcdef', endpoint: 'https://demo.reactio.jp' } });
const context = JSON.stringify({ now: 1764092855 });
const incident = JSON.stringify({ id: 101, name: 'web01/check_http', status: 'open', manager: null, created_at: 1764092795,
  updated_at: 1764092795, pended_at: null, closed_at: null, topics: [], files: [], users: [] });
const response = (status, body) => JSON.stringify({ answer: 'response', status, headers: [['content-type', 'application/json']], body });
const answers = [response(200, '[]'), response(200, '[]'), response(201, incident), response(200, `[${incident}]`), response(200, '[]')];

const session = new Session();
const first = JSON.parse(session.plan(config, event, context));
if (first.step !== 'request') throw new Error(`expected a request step, got ${first.step}`);
let out;
for (const answer of answers) out = session.handle(answer);
const done = JSON.parse(out);
if (done.step !== 'done' || done.code !== 'created') throw new Error(`script did not create: ${out}`);

function bench(name, fn, iterations = 2000, rounds = 15) {
  for (let i = 0; i < iterations; i++) fn(); // warm-up
  const perCall = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    perCall.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  perCall.sort((a, b) => a - b);
  const median = perCall[Math.floor(perCall.length / 2)];
  console.log(`${name}: ${(median / 1000).toFixed(2)} us/call (${Math.round(1e9 / median)} /s), min ${(perCall[0] / 1000).toFixed(2)} us`);
}

bench('node plan (to first request)', () => session.plan(config, event, context));
bench('node first critical (plan + 5 answers)', () => {
  session.plan(config, event, context);
  for (const answer of answers) session.handle(answer);
});
session.free();
