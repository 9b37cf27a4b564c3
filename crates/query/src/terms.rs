//! Building blocks of queries: terms normalised as the index normalised them, the typo policy,
//! and prefixes. Nothing here parses a query language.

use contract_search_index::analysis::{MAX_PREFIX_CHARS, MIN_PREFIX_CHARS};
use tantivy::Term;
use tantivy::query::{BoostQuery, FuzzyTermQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

/// Edits allowed for a *folded* word, by its length in characters. The best engines allow none
/// up to four letters, one from five, two from nine, counted on what was typed; folding drops a
/// letter from many German names (`Sauer` → `saur`, `Müller` → `muller`),
/// so on folded words the steps come one letter earlier: none up to three, one from four, two
/// from eight.
pub fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// A term query with a boost.
pub fn term(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let query = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(query), boost))
}

/// A term query on a key field (no frequencies).
pub fn key(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let query = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic);
    Box::new(BoostQuery::new(Box::new(query), boost))
}

/// A fuzzy query within the typo policy's distance, or `None` for short words. Fuzzy matches
/// all score the same constant (tantivy), so callers pair it with a higher-boosted exact term.
pub fn fuzzy(field: Field, word: &str, boost: f32) -> Option<Box<dyn Query>> {
    fuzzy_with(field, word, boost, typo_distance(word))
}

/// A fuzzy query with an explicit distance (at most 2), or `None` for distance 0.
pub fn fuzzy_with(field: Field, word: &str, boost: f32, distance: u8) -> Option<Box<dyn Query>> {
    let distance = distance.min(2);
    (distance > 0).then(|| {
        let query = FuzzyTermQuery::new(Term::from_field_text(field, word), distance, true);
        Box::new(BoostQuery::new(Box::new(query), boost)) as Box<dyn Query>
    })
}

/// Words starting with `word`: the tagged edge n-gram when it is short enough to be indexed,
/// else a prefix automaton on the text field (cheap for long prefixes: few words match).
pub fn prefix(
    prefix_field: Field,
    tag: char,
    text_field: Field,
    word: &str,
    boost: f32,
) -> Option<Box<dyn Query>> {
    let num_chars = word.chars().count();
    if num_chars < MIN_PREFIX_CHARS {
        return None;
    }
    let query: Box<dyn Query> = if num_chars <= MAX_PREFIX_CHARS {
        Box::new(TermQuery::new(
            Term::from_field_text(prefix_field, &format!("{tag}{word}")),
            IndexRecordOption::Basic,
        ))
    } else {
        Box::new(FuzzyTermQuery::new_prefix(Term::from_field_text(text_field, word), 0, false))
    };
    Some(Box::new(BoostQuery::new(query, boost)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_policy() {
        assert_eq!(typo_distance("kch"), 0);
        assert_eq!(typo_distance("saur"), 1);
        assert_eq!(typo_distance("schneid"), 1);
        assert_eq!(typo_distance("schneide"), 2);
        assert_eq!(typo_distance("muller"), 1);
    }
}
