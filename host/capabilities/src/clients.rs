//! clients (being built)
