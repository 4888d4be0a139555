//! generator (being built)
