//! connections (being built)
