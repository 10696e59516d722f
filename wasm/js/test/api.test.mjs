//! api.test.mjs: the package under Node: steps out, errors thrown with the core's message and kind, both entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Session, SensuReactioError, resume, dryRunAnswer } from 'sensu-reactio';

const root = new URL('../../../', import.meta.url);
const event = readFileSync(new URL('examples/events/classic-critical.json', root), 'utf8');
const config = JSON.stringify({ settings: { reactio: { organization: 'example', api_key: 'k' } } });
const context = JSON.stringify({ now: 1764092860, dry_run: true });

function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

test('plan returns a step and a dry run reaches done; resume agrees at every step', () => {
  const session = new Session();
  let out = session.plan(config, event, context);
  const answers = [];
  let steps = 0;
  while (JSON.parse(out).step !== 'done') {
    assert.ok(steps++ < 50, 'the dry run ends');
    const answer = dryRunAnswer(out);
    answers.push(JSON.parse(answer));
    out = session.handle(answer);
    assert.equal(resume(config, event, context, JSON.stringify(answers)), out);
  }
  const done = JSON.parse(out);
  assert.equal(done.dry_run, true);
  assert.equal(done.key, 'web01/check_http');
  assert.ok(steps > 0, 'a critical event makes requests');
});

test('a bad event throws an input error with the core message and json', () => {
  const error = thrown(() => new Session().plan(config, '{"client":', context));
  assert.ok(error instanceof SensuReactioError);
  assert.ok(error instanceof Error);
  assert.equal(error.kind, 'input');
  assert.match(error.message, /^the event is not valid json: .*; sensu pipes one json object on stdin$/);
  assert.equal(error.json, JSON.stringify({ error: { kind: 'input', message: error.message } }));
});

test('a bad configuration throws a config error', () => {
  const error = thrown(() => new Session().plan('[]', event, context));
  assert.equal(error.kind, 'config');
  assert.match(error.message, /^the configuration input is not valid: expected a json object, got an array/);
});

test('protocol errors: handle before plan, bad answer, bad context', () => {
  const session = new Session();
  assert.equal(thrown(() => session.handle('{"answer":"waited"}')).kind, 'protocol');
  assert.match(thrown(() => session.plan(config, event, '{}')).message, /^the context is not valid: missing field `now`/);
  const first = session.plan(config, event, context);
  assert.equal(JSON.parse(first).step, 'request');
  const bad = thrown(() => session.handle('{"answer":"nope"}'));
  assert.equal(bad.kind, 'protocol');
  assert.match(bad.message, /^the answer is not valid: unknown variant `nope`/);
  // The machine is unchanged by a bad answer.
  assert.equal(session.handle(dryRunAnswer(first)), resume(config, event, context, `[${dryRunAnswer(first)}]`));
});

test('a freed session says so; freeing again (free(), then a using block ending) does nothing', () => {
  const session = new Session();
  session.plan(config, event, context);
  session.free();
  session.free();
  session[Symbol.dispose]();
  const error = thrown(() => session.plan(config, event, context));
  assert.ok(error instanceof SensuReactioError);
  assert.equal(error.kind, 'protocol');
  assert.match(error.message, /this session was freed/);
});

test('non-string arguments are a TypeError naming the fix', () => {
  const error = thrown(() => new Session().plan({}, event, context));
  assert.ok(error instanceof TypeError);
  assert.match(error.message, /configInput must be a string of json, got object; pass JSON\.stringify/);
});

test('the browser/bundler entry works once initialised, and refuses before', async () => {
  const entry = await import('../index.js');
  // node.js already initialised the shared bindings; a fresh process checks the refusal.
  const script = `import('${new URL('../api.js', import.meta.url)}').then(m => { try { new m.Session(); } catch (e) { console.log(e.kind + ': ' + e.message); } })`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.match(out, /^protocol: the wasm module is not initialised; call `await init\(\)`/);
  entry.initSync(readFileSync(new URL('../pkg/sensu_reactio_bg.wasm', import.meta.url)));
  assert.equal(JSON.parse(new entry.Session().plan(config, event, context)).step, 'request');
});

test('every fixture event plans to a step or an input error, never a crash', () => {
  const dir = new URL('tests/fixtures/upstream/', root);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 10, `fixtures in ${dir}`);
  for (const file of files) {
    const text = readFileSync(new URL(file, dir), 'utf8');
    try {
      assert.ok(['request', 'wait', 'done'].includes(JSON.parse(new Session().plan(config, text, context)).step), file);
    } catch (error) {
      assert.ok(error instanceof SensuReactioError, `${file}: ${error}`);
    }
  }
});

test('the example runs', () => {
  const out = execFileSync(process.execPath, [new URL('../examples/dry-run.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.match(out, /^lookup_open: GET https:\/\/example\.reactio\.jp\//m);
  assert.doesNotMatch(out, /not-a-real-key/);
  assert.match(out, /^handled \(created\): /m);
});

test('every JS entry of the package has its types', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  for (const [entry, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // the .wasm files and package.json
    assert.ok(target.types, `${entry} has no "types"`);
    readFileSync(new URL(`../${target.types}`, import.meta.url));
    assert.ok(pkg.files.includes(target.types.replace(/^\.\//, '')), `${target.types} is not in "files"`);
  }
});
