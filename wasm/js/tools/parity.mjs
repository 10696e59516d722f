//! parity.mjs: the JS side of the parity test (tests/tests/parity): replays cases through the package, prints every output.
//
//   node wasm/js/tools/parity.mjs cases.json   ->  stdout: JSON array, per case an array of outputs
//
// A case is {"config","event","context","answers":[..],"resume"} (JSON text; `resume` is
// the answers array for a final stateless `resume` call, or null).
// Outputs are the package's return values, or `error.json` for a thrown
// SensuReactioError: byte for byte what the native core returns.
import { readFileSync } from 'node:fs';
import { Session, SensuReactioError, resume } from 'sensu-reactio';

function call(fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SensuReactioError) return error.json;
    throw error;
  }
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = cases.map((c) => {
  const session = new Session();
  const outputs = [call(() => session.plan(c.config, c.event, c.context))];
  for (const answer of c.answers) outputs.push(call(() => session.handle(answer)));
  if (c.resume !== null) outputs.push(call(() => resume(c.config, c.event, c.context, c.resume)));
  session.free();
  return outputs;
});
process.stdout.write(JSON.stringify(results));
