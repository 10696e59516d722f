//! dry-run.mjs: run a Sensu event through the core under Node in dry run; prints each request (key masked) and the outcome.
//
//   node examples/dry-run.mjs [event.json]     (default: ../../examples/events/classic-critical.json)
import { readFileSync } from 'node:fs';
import { Session, SensuReactioError, dryRunAnswer } from 'sensu-reactio';

const eventPath = process.argv[2] ?? new URL('../../../examples/events/classic-critical.json', import.meta.url);
const event = readFileSync(eventPath, 'utf8');
const config = JSON.stringify({ settings: { reactio: { organization: 'example', api_key: 'not-a-real-key' } } });
const context = JSON.stringify({ now: Math.floor(Date.now() / 1000), dry_run: true });

const session = new Session();
try {
  let out = session.plan(config, event, context);
  for (;;) {
    const step = JSON.parse(out);
    if (step.step === 'done') {
      console.log(`${step.result} (${step.code}): ${step.message}`);
      break;
    }
    if (step.step === 'request') {
      const headers = step.headers.map(([name, value]) => [name, name === 'x-api-key' ? '********' : value]);
      console.log(`${step.purpose}: ${step.method} ${step.scheme}://${step.authority}${step.path} ${JSON.stringify(Object.fromEntries(headers))} ${step.body}`);
    } else {
      console.log(`wait ${step.min_ms} ms: ${step.reason}`);
    }
    out = session.handle(dryRunAnswer(out));
  }
} catch (error) {
  if (!(error instanceof SensuReactioError)) throw error;
  console.error(`error (${error.kind}): ${error.message}`);
  process.exitCode = error.kind === 'input' ? 65 : error.kind === 'config' ? 78 : 70;
} finally {
  session.free();
}
