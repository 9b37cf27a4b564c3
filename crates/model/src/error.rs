//! The model crate's error type: every error here is the caller's fault (bad input).

/// A record that breaks one of enneo's required-field rules. The message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct ValidationError {
    /// enneo's (camelCase) name of the offending field.
    pub field: &'static str,
    /// What is wrong with it, in plain words.
    pub reason: String,
}

impl ValidationError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        ValidationError { field, reason: reason.into() }
    }
}

/// Errors of the model crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A record breaks enneo's required-field rules.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A value could not be normalised (an unparseable phone number, an IBAN with a bad checksum).
    #[error(transparent)]
    Normalize(#[from] crate::normalize::NormalizeError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
