//! What the benchmark binaries share: the generated tenant of issues 6 and 14, and a live
//! server with passkey users for the load binaries.

pub mod live;
pub mod tenant;
