//! Normalisers: pure functions that map every spelling of a value to one comparable key.

/// A value that cannot be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The input is empty after trimming.
    #[error("empty value")]
    Empty,
}
