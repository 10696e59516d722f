//! Reactio's API: request bodies out, answers classified in.
