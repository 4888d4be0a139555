//! loader (being built)
