//! faults (being built)
