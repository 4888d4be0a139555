//! Orders flow (being built).
