//! What the benchmark binaries share: the generated tenant of issues 6 and 14.

pub mod tenant;
