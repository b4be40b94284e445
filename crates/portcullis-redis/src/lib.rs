//! Redis backends (being written).
