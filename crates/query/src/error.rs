//! Errors of the searches.

/// Errors of the searches. "Not found" is not an error: it is `None` or an empty list.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No generation has been published yet (first rebuild still running).
    #[error("no index generation is loaded yet")]
    NoGeneration,
    /// The index failed underneath (I/O, corrupt payload).
    #[error(transparent)]
    Index(#[from] contract_search_index::Error),
    /// tantivy failed underneath.
    #[error("search failed: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
