//! Pearlbridge host library.
