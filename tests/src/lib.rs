//! Shared test support: the Reactio stand-in server and fixture helpers (placeholder).
