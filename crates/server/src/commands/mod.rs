//! One module per subcommand.

pub mod generate;
pub mod powercloud_sim;
pub mod rebuild;
