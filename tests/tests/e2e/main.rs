//! End-to-end tests: each test starts real servers on loopback ports and speaks HTTP to them.
//! One module per area; `support` holds the shared clients and a change-event receiver.

mod executors;
mod freshness;
mod powercloud_sim;
mod rebuild;
mod sample_data;
mod support;
