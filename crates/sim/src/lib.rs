//! Synthetic German energy contract data and a Powercloud simulator.
//!
//! - [`generate`]: a deterministic, streaming generator of customers and contracts with the
//!   skew and noise of real German data.
//! - [`powercloud`]: the Powercloud wire format (raw records, envelopes, the assumed list
//!   functions and change events), the one place these assumptions are written down.

#![warn(missing_docs)]

pub mod calendar;
pub mod export;
pub mod generate;
pub mod powercloud;
pub mod queries;
pub mod rng;
pub mod server;
pub mod vocab;
