//! Checks a built generation must pass before it is published: it may not shrink beyond a
//! configured fraction against the served generation (a cut-short ERP export must never replace
//! a complete one), and sampled contracts must be found by their keys and read back intact.

use contract_search_model::Contract;
use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use crate::document::keys;
use crate::generation::Generation;
use crate::{Error, Result};

/// Validation settings.
#[derive(Debug, Clone, Copy)]
pub struct ValidationOptions {
    /// Largest allowed shrink against the served generation, as a fraction (default 0.10).
    pub max_shrink: f64,
    /// Publish even if the shrink guard objects (an operator's explicit override).
    pub allow_shrink: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions { max_shrink: 0.10, allow_shrink: false }
    }
}

/// The shrink guard: `Err(reason)` when `new` has too few contracts against `served`.
pub fn check_shrink(
    new: u64,
    served: Option<u64>,
    options: &ValidationOptions,
) -> std::result::Result<(), String> {
    if options.allow_shrink {
        return Ok(());
    }
    match served {
        Some(served) if (new as f64) < served as f64 * (1.0 - options.max_shrink) => Err(format!(
            "it holds {new} contracts against {served} served, a shrink of {:.1}% beyond the allowed {:.1}% \
             (a cut-short export?); publish anyway with the shrink override",
            100.0 * (1.0 - new as f64 / served as f64),
            100.0 * options.max_shrink
        )),
        None if new == 0 => {
            Err("it holds no contracts; publish an empty index only with the shrink override".into())
        }
        _ => Ok(()),
    }
}

fn count(searcher: &Searcher, term: Term) -> Result<usize> {
    Ok(searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)?)
}

/// Every sample must be found once by its id, read back equal, and be found by its email and
/// meter number keys.
pub fn check_samples(generation: &Generation, samples: &[Contract]) -> Result<()> {
    let searcher = generation.searcher();
    let fields = generation.fields();
    let fail = |reason: String| Error::Validation { generation: generation.id().to_owned(), reason };
    for sample in samples {
        if count(&searcher, Term::from_field_text(fields.id, &sample.id))? != 1 {
            return Err(fail(format!("sampled contract {} is not found exactly once by its id", sample.id)));
        }
        let stored = generation.contract_by_exact_id(&sample.id)?;
        if stored.as_ref() != Some(sample) {
            return Err(fail(format!("sampled contract {} does not read back as it was written", sample.id)));
        }
        let keys = keys(sample);
        let key_checks = [("email", fields.email, keys.email), ("meter number", fields.meter, keys.meter)];
        for (what, field, key) in key_checks {
            if let Some(key) = key
                && count(&searcher, Term::from_field_text(field, &key))? == 0
            {
                return Err(fail(format!("sampled contract {} is not found by its {what}", sample.id)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_guard() {
        let options = ValidationOptions::default();
        assert!(check_shrink(95, Some(100), &options).is_ok());
        assert!(check_shrink(90, Some(100), &options).is_ok());
        assert!(check_shrink(89, Some(100), &options).is_err());
        assert!(check_shrink(0, None, &options).is_err());
        assert!(check_shrink(5, None, &options).is_ok());
        let forced = ValidationOptions { allow_shrink: true, ..options };
        assert!(check_shrink(1, Some(100), &forced).is_ok());
    }
}
