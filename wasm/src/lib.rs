//! WebAssembly glue over the core (placeholder until the wasm work lands).
