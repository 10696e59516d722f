//! api.js: the package's API over the wasm-bindgen exports: strings in and out, errors thrown.
//
// The wasm side returns the core's JSON text: a step, or `{"error":{"kind":..,"message":..}}`.
// Here an error becomes a thrown `SensuReactioError` carrying the core's message, its
// kind, and the exact JSON (`error.json`), byte for byte what the native core prints.

import { Session as RawSession, resume as rawResume, dryRunAnswer as rawDryRunAnswer } from './pkg/sensu_reactio.js';

let ready = false;

/** Called by the entry modules once the wasm module is instantiated. */
export function markReady() {
  ready = true;
}

/** An error from the core: `kind` is `input`, `config` or `protocol`. */
export class SensuReactioError extends Error {
  constructor(kind, message, json) {
    super(message);
    this.name = 'SensuReactioError';
    this.kind = kind;
    this.json = json;
  }
}

function ensureReady() {
  if (!ready) {
    const message = 'the wasm module is not initialised; call `await init()` (or `initSync(module)`) from sensu-reactio first';
    throw new SensuReactioError('protocol', message, JSON.stringify({ error: { kind: 'protocol', message } }));
  }
}

function text(value, name) {
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be a string of json, got ${value === null ? 'null' : typeof value}; pass JSON.stringify(value)`);
  }
  return value;
}

function unwrap(out) {
  if (out.startsWith('{"error":')) {
    const { error } = JSON.parse(out);
    throw new SensuReactioError(error.kind, error.message, out);
  }
  return out;
}

/** One machine at a time: `plan` an event, then `handle` each answer. */
export class Session {
  #raw;

  constructor() {
    ensureReady();
    this.#raw = new RawSession();
  }

  /** The live session, or a `protocol` error once it was freed. */
  #live() {
    if (this.#raw === null) {
      const message = 'this session was freed (free() or a `using` block ending); make a new Session';
      throw new SensuReactioError('protocol', message, JSON.stringify({ error: { kind: 'protocol', message } }));
    }
    return this.#raw;
  }

  /** Plan an event; returns the first step as JSON text. */
  plan(configInput, event, context) {
    return unwrap(this.#live().plan(text(configInput, 'configInput'), text(event, 'event'), text(context, 'context')));
  }

  /** Hand the answer to the current step; returns the next step as JSON text. */
  handle(answer) {
    return unwrap(this.#live().handle(text(answer, 'answer')));
  }

  /** Free the wasm memory now (otherwise freed when garbage-collected); again does nothing. */
  free() {
    if (this.#raw !== null) {
      this.#raw.free();
      this.#raw = null;
    }
  }

  [Symbol.dispose]() {
    this.free();
  }
}

/** Stateless: plan, replay the answers so far (a JSON array), return the step reached. */
export function resume(configInput, event, context, answers) {
  ensureReady();
  return unwrap(rawResume(text(configInput, 'configInput'), text(event, 'event'), text(context, 'context'), text(answers, 'answers')));
}

/** The answer a dry run feeds back for a request or wait step (lookups find nothing, writes succeed). */
export function dryRunAnswer(step) {
  ensureReady();
  return unwrap(rawDryRunAnswer(text(step, 'step')));
}
