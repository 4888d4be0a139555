//! BigCommerce and Brightpearl API simulators (see README).
