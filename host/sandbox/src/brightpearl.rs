//! brightpearl (being built)
