//! bigcommerce (being built)
