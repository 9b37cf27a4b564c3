//! Field-by-field similarity in [0, 1] between what was extracted and what a contract holds.
//! Every comparison is on normalised forms (folded names and streets, E.164 phones, normalised
//! meter numbers), so spellings do not matter, only content.

use contract_search_index::analysis::{name_tokens, street_tokens};
use contract_search_model::normalize::{fold_name, fold_street};
use strsim::{jaro_winkler, osa_distance as levenshtein};

/// Similarity of two single names (first or last), typo-tolerant by length.
pub fn name(query: &str, stored: &str) -> f32 {
    let query = fold_name(query);
    let stored = fold_name(stored);
    if query.is_empty() || stored.is_empty() {
        return 0.0;
    }
    if query == stored {
        return 1.0;
    }
    let length = query.chars().count().max(stored.chars().count());
    let distance = levenshtein(&query, &stored);
    let by_edits: f32 = match distance {
        1 if length >= 4 => 0.85,
        2 if length >= 7 => 0.65,
        3 if length >= 10 => 0.5,
        _ if jaro_winkler(&query, &stored) >= 0.92 => 0.5,
        _ => 0.0,
    };
    // Double names and particles: "Müller" for "Müller-Lüdenscheidt", "Berg" for "von Berg".
    let query_tokens = query.split(' ').collect::<Vec<_>>();
    let stored_tokens = stored.split(' ').collect::<Vec<_>>();
    let contained = query_tokens.iter().all(|token| stored_tokens.contains(token))
        || stored_tokens.iter().all(|token| query_tokens.contains(token));
    by_edits.max(if contained { 0.8 } else { 0.0 })
}

/// Similarity of a first name, which may also be abbreviated ("T.", "Thom").
pub fn first_name(query: &str, stored: &str) -> f32 {
    let by_name = name(query, stored);
    let query_folded = fold_name(query.trim_end_matches('.'));
    let stored_folded = fold_name(stored);
    let abbreviated = !query_folded.is_empty()
        && query_folded.chars().count() < stored_folded.chars().count()
        && stored_folded.starts_with(&query_folded);
    by_name.max(if abbreviated { 0.7 } else { 0.0 })
}

const LEGAL_FORM_TOKENS: &[&str] =
    &["gmbh", "co", "kg", "ag", "ek", "e", "k", "gbr", "ug", "ohg", "haftungsbeschrankt", "mbh", "und"];

/// Company words without legal forms, also when the legal form itself is misspelt
/// ("haftungsbeschrankt" written "hafutngsbeschrankt").
fn company_tokens(text: &str) -> Vec<String> {
    name_tokens(text)
        .into_iter()
        .filter(|token| {
            !LEGAL_FORM_TOKENS
                .iter()
                .any(|form| form == token || (form.len() >= 8 && levenshtein(form, token) <= 2))
        })
        .collect()
}

fn token_match(left: &str, right: &str) -> bool {
    left == right || (left.chars().count() >= 4 && levenshtein(left, right) <= 1)
}

/// Legal forms that typing runs into the name ("SchneeleOHG").
const FUSED_LEGAL_FORMS: &[&str] = &["gmbhcokg", "gmbh", "mbh", "ohg", "gbr", "kg", "ag", "ug", "ek"];

/// The company name as one run of letters, legal forms removed (also when fused to the name).
fn company_compact(tokens: &[String]) -> String {
    let mut compact = tokens.concat();
    while let Some(form) =
        FUSED_LEGAL_FORMS.iter().find(|form| compact.len() > form.len() + 3 && compact.ends_with(*form))
    {
        compact.truncate(compact.len() - form.len());
    }
    compact
}

/// Similarity of company names: shared words (typo-tolerant), legal forms ignored; or, for typos
/// that split or join words ("KanzleiN eu"), the names as one run of letters within a few edits.
pub fn company(query: &str, stored: &str) -> f32 {
    let query = company_tokens(query);
    let stored = company_tokens(stored);
    if query.is_empty() || stored.is_empty() {
        return 0.0;
    }
    let shared = query.iter().filter(|token| stored.iter().any(|other| token_match(token, other))).count();
    let by_words = shared as f32 / query.len().max(stored.len()) as f32;
    let (query_compact, stored_compact) = (company_compact(&query), company_compact(&stored));
    let length = query_compact.chars().count().max(stored_compact.chars().count());
    let by_letters = match levenshtein(&query_compact, &stored_compact) {
        0 => 1.0,
        distance if distance <= (length / 8).max(1) => 0.85,
        _ => 0.0,
    };
    by_words.max(by_letters)
}

/// Similarity of street names (without house numbers): compared with the street suffix folded
/// (`Str.` = `Straße`) and, for typos inside the suffix (`Hauptstrase`), without.
pub fn street(query: &str, stored: &str) -> f32 {
    street_folded(&fold_street(query), &fold_street(stored))
        .max(street_folded(&fold_name(query), &fold_name(stored)))
}

fn street_folded(query: &str, stored: &str) -> f32 {
    if query.is_empty() || stored.is_empty() {
        return 0.0;
    }
    if query == stored || query.replace(' ', "") == stored.replace(' ', "") {
        return 1.0;
    }
    let length = query.chars().count().max(stored.chars().count());
    match levenshtein(query, stored) {
        1 if length >= 5 => 0.85,
        2 if length >= 8 => 0.65,
        _ => 0.0,
    }
}

/// House numbers: equal after removing spaces and case ("3 a" = "3A").
pub fn house_number(query: &str, stored: &str) -> f32 {
    let normal = |text: &str| text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    if normal(query) == normal(stored) { 1.0 } else { 0.0 }
}

/// Similarity of city names ("Frankfurt" fits "Frankfurt am Main").
pub fn city(query: &str, stored: &str) -> f32 {
    let query_tokens = name_tokens(query);
    let stored_tokens = name_tokens(stored);
    let query = query_tokens.join(" ");
    let stored = stored_tokens.join(" ");
    if query.is_empty() || stored.is_empty() {
        return 0.0;
    }
    if query == stored {
        return 1.0;
    }
    if stored.starts_with(&query) || query.starts_with(&stored) {
        return 0.9;
    }
    if levenshtein(&query, &stored) <= 2 && query.chars().count() >= 5 { 0.8 } else { 0.0 }
}

/// Street words of a street line, folded (for retrieval).
pub fn street_words(text: &str) -> Vec<String> {
    street_tokens(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("Müller", "Mueller"), 1.0);
        assert_eq!(name("Mülller", "Müller"), 0.85);
        assert_eq!(name("Schneidre", "Schneider"), 0.85);
        assert_eq!(name("Schnaidr", "Schneider"), 0.65);
        assert_eq!(name("Weber", "Becker"), 0.0);
        assert_eq!(name("Müller", "Müller-Lüdenscheidt"), 0.8);
        assert_eq!(first_name("T.", "Thomas"), 0.7);
        assert_eq!(first_name("Tom", "Thomas"), 0.0);
    }

    #[test]
    fn companies() {
        assert_eq!(company("Bäckerei Schmidt", "Bäckerei Schmidt GmbH"), 1.0);
        assert_eq!(company("Backerei Schmit GmbH", "Bäckerei Schmidt GmbH"), 1.0);
        assert_eq!(company("Schmidt", "Bäckerei Schmidt GmbH"), 0.5);
        assert_eq!(
            company("KanzleiN eu UG (haftungsbeschränkt)", "Kanzlei Neu UG (haftungsbeschränkt)"),
            1.0
        );
        assert_eq!(company("Metallbau SchneeleOHG", "Metallbau Schneele OHG"), 1.0);
        assert_eq!(company("Zahnaqztpraxs Hasel OHG", "Zahnarztpraxis Hasel OHG"), 0.85);
        assert!(company("Autohaus Weber KG", "Bäckerei Schmidt GmbH") < 0.1);
    }

    #[test]
    fn streets_and_cities() {
        assert_eq!(street("Hauptstr.", "Hauptstraße"), 1.0);
        assert_eq!(street("Hauptstrase", "Hauptstraße"), 0.85);
        assert_eq!(house_number("3 a", "3A"), 1.0);
        assert_eq!(city("Frankfurt", "Frankfurt am Main"), 0.9);
        assert_eq!(city("Koeln", "Köln"), 1.0);
    }
}
