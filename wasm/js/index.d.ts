//! index.d.ts: TypeScript types of the sensu-reactio package (every entry: node.js and index.js).
//
// The functions take and return JSON text, exactly the core's protocol; the types
// below describe that JSON, for `JSON.parse(out) as Step` and for building inputs.

/** Settings as the host gathered them (every member optional). */
export interface ConfigInput {
  /** Sensu settings files deep-merged; the `reactio` scope is read. */
  settings?: unknown;
  /** Environment variables (names starting `REACTIO_`). */
  env?: Record<string, string>;
  /** Command-line flags: setting name (snake_case) -> raw value. */
  flags?: Record<string, string>;
  /** The handler name for the `handlers.<name>` typo lint (default `reactio`). */
  handler_name?: string | null;
  /** Contents of `api_key_file`s, by path. */
  key_files?: Record<string, string>;
}

/** What the host tells the core besides the event and the configuration. */
export interface Context {
  /** Current time, epoch seconds. */
  now: number;
  /** The key has an undelivered spooled entry. */
  first_occurrence?: boolean;
  /** Dry run: feed `dryRunAnswer(step)` instead of sending. */
  dry_run?: boolean;
  /** An earlier attempt at this event sent its create and could not confirm it: an incident the lookup finds is that create's. */
  create_unconfirmed?: boolean;
  /** When the host received the event, epoch seconds by its clock (for a spooled event, when it first came): the episode is reckoned from it. Default: the event's `timestamp`. */
  received?: number;
}

export type Purpose = 'lookup_open' | 'lookup_pend' | 'lookup_closed' | 'create' | 'verify_create' | 'message' | 'notify' | 'close';

/** Send this request, then hand the answer to `handle`. */
export interface RequestStep {
  step: 'request';
  method: 'GET' | 'POST';
  scheme: string;
  authority: string;
  /** Path and query, percent-encoded. */
  path: string;
  /** Lowercase names, in order; contains `x-api-key`: never log it. */
  headers: [string, string][];
  body: string;
  timeout_ms: number;
  purpose: Purpose;
}

/** Wait at least `min_ms`, then hand `{"answer":"waited"}` to `handle`. */
export interface WaitStep {
  step: 'wait';
  min_ms: number;
  reason: string;
}

export interface IncidentRef {
  id: number;
  url: string;
}

/** Finished. */
export interface DoneStep {
  step: 'done';
  result: 'handled' | 'skipped' | 'failed';
  retryable: boolean;
  auth_failed: boolean;
  code: string;
  key: string;
  incident?: IncidentRef;
  actions: string[];
  message: string;
  warnings: string[];
  dry_run: boolean;
  /** Failed with a create sent but unconfirmed: the server may yet apply it; send
   *  nothing else for this key until a lookup (the next delivery) settles it. */
  create_unconfirmed?: true;
}

export type Step = RequestStep | WaitStep | DoneStep;

export type FailureKind = 'connect' | 'timeout' | 'reset' | 'tls' | 'refused' | 'other' | 'deadline';

export type Answer =
  | { answer: 'response'; status: number; headers?: [string, string][]; body?: string }
  | { answer: 'failure'; kind: FailureKind; detail?: string }
  | { answer: 'waited' };

export type ErrorKind = 'input' | 'config' | 'protocol';

/** An error from the core, thrown by every function below. */
export class SensuReactioError extends Error {
  readonly name: 'SensuReactioError';
  /** `input` (the event), `config` (the configuration) or `protocol` (the caller). */
  readonly kind: ErrorKind;
  /** The core's error JSON, byte for byte: `{"error":{"kind":..,"message":..}}`. */
  readonly json: string;
}

/** One machine at a time: `plan` an event, then `handle` each answer. */
export class Session {
  constructor();
  /**
   * Plan an event. Arguments are JSON text: a {@link ConfigInput}, the Sensu event,
   * a {@link Context}. Returns the first {@link Step} as JSON text.
   * @throws {SensuReactioError}
   */
  plan(configInput: string, event: string, context: string): string;
  /**
   * Hand the answer (JSON text of an {@link Answer}) to the current step; returns
   * the next {@link Step} as JSON text.
   * @throws {SensuReactioError}
   */
  handle(answer: string): string;
  /** Free the wasm memory now (otherwise freed when garbage-collected); again does nothing. */
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * Stateless: plan, replay the answers given so far (JSON array of {@link Answer}s),
 * and return the {@link Step} reached, as JSON text.
 * @throws {SensuReactioError}
 */
export function resume(configInput: string, event: string, context: string, answers: string): string;

/**
 * The {@link Answer} (JSON text) a dry run feeds back for a request or wait step:
 * lookups find nothing, writes succeed.
 * @throws {SensuReactioError}
 */
export function dryRunAnswer(step: string): string;

/**
 * Instantiate the module (browsers, workers, bundlers; a no-op under Node). With no
 * argument the .wasm is fetched from beside the package's JS.
 */
export function init(input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** Instantiate synchronously from bytes or a compiled module (a no-op under Node). */
export function initSync(module: BufferSource | WebAssembly.Module): void;
