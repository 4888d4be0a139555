//! state (being built)
