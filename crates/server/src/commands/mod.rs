//! One module per subcommand.

pub mod demo;
pub mod eval;
pub mod generate;
pub mod import;
pub mod powercloud_sim;
pub mod rebuild;
pub mod search;
pub mod serve;
