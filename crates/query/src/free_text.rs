//! Free text: what an agent types into enneo's search box, answered with customers.
//!
//! The text is analysed, never parsed: emails, IBANs, phone numbers, meter numbers and ids are
//! recognised and looked up as exact keys (and as suffixes: people quote the last digits);
//! everything else is words, each of which must match a name, company, street or city — exactly,
//! within the typo policy, or (the last word, while typing) as a prefix. Exact matches carry
//! higher boosts than fuzzy ones, so they always rank first. If all words together find
//! nothing, a second pass lets one word miss. Hits are grouped by customer through the customer
//! id column; stored contracts are decoded only for [`ContractSearch::contracts`].

use std::collections::HashSet;

use contract_search_index::analysis::{name_tokens, reversed_key, street_tokens};
use contract_search_index::schema::{prefix_tag, reversed_tag};
use contract_search_index::{Fields, Generation};
use contract_search_model::normalize::{
    id_variants, normalize_email, normalize_iban, normalize_meter, normalize_phone, parse_din_meter,
};
use contract_search_model::{Contract, CustomerRef, FreeTextQuery};
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery};
use tantivy::{DocAddress, Searcher, Term};

use crate::terms::{fuzzy_with, key, prefix, term, typo_distance};
use crate::{ContractSearch, Result};

/// Boost of an identifier hit: far above any combination of words.
const IDENTIFIER_BOOST: f32 = 50.0;
/// Shortest digit or character run searched as a suffix of a meter number, phone or IBAN.
pub const MIN_SUFFIX_CHARS: usize = 6;
/// Most customers one call answers.
pub const MAX_LIMIT: usize = 100;

/// What the analysis found in a free-text query.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Normalised emails.
    pub emails: Vec<String>,
    /// Normalised IBANs.
    pub ibans: Vec<String>,
    /// Phones in E.164.
    pub phones: Vec<String>,
    /// Normalised meter numbers (whole).
    pub meters: Vec<String>,
    /// Id-like tokens (contract or customer ids, in any typed variant).
    pub ids: Vec<String>,
    /// Character runs to look up as suffixes of meters, phones and IBANs.
    pub suffixes: Vec<String>,
    /// Five-digit postcodes.
    pub postcodes: Vec<String>,
    /// Short numbers and house numbers ("5", "15a").
    pub house_numbers: Vec<String>,
    /// Folded words for names, companies, streets and cities.
    pub words: Vec<String>,
    /// Street-folded forms of the words (`Hauptstraße` → `hauptstr`), same order.
    pub street_words: Vec<String>,
    /// Whether the last word may be incomplete (the text does not end in a space).
    pub last_word_is_prefix: bool,
}

impl Analysis {
    /// Whether any identifier was recognised.
    pub fn has_identifiers(&self) -> bool {
        !(self.emails.is_empty()
            && self.ibans.is_empty()
            && self.phones.is_empty()
            && self.meters.is_empty()
            && self.ids.is_empty()
            && self.suffixes.is_empty())
    }
}

fn is_phone_like(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 6 && text.chars().all(|c| c.is_ascii_digit() || " +()/-.".contains(c))
}

/// Analyses free text (pure; no index access).
pub fn analyse(text: &str) -> Analysis {
    let mut analysis =
        Analysis { last_word_is_prefix: !text.ends_with(char::is_whitespace), ..Analysis::default() };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return analysis;
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    // The whole text as one identifier: a phone in any format, a spaced IBAN or meter number.
    let all_digits = trimmed.chars().all(|c| c.is_ascii_digit());
    if is_phone_like(trimmed) && !all_digits {
        if let Ok(phone) = normalize_phone(trimmed) {
            analysis.phones.push(phone);
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        analysis.suffixes.push(digits);
        return analysis;
    }
    if all_digits && trimmed.len() >= 10 {
        // A phone number written as bare digits (enneo sends them as integers).
        if let Ok(phone) = normalize_phone(trimmed) {
            analysis.phones.push(phone);
        }
    }
    if compact.len() >= 15
        && compact.chars().take(2).all(|c| c.is_ascii_alphabetic())
        && let Ok(iban) = normalize_iban(&compact)
    {
        analysis.ibans.push(iban);
        return analysis;
    }
    // A meter number written in groups ("1 ESY 11 60669167").
    if trimmed.contains(char::is_whitespace)
        && parse_din_meter(&compact).is_some()
        && let Ok(meter) = normalize_meter(&compact)
    {
        analysis.meters.push(meter.clone());
        analysis.suffixes.push(meter);
    }
    if !analysis.meters.is_empty() {
        return analysis;
    }
    let mut words_text = String::new();
    let raw_tokens: Vec<&str> = trimmed
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .map(|token| token.trim_matches(|c: char| "()[]<>\"'".contains(c)))
        .filter(|token| !token.is_empty())
        .collect();
    let mut tokens: Vec<String> = Vec::with_capacity(raw_tokens.len());
    let mut index = 0;
    while index < raw_tokens.len() {
        let token = raw_tokens[index];
        let next = raw_tokens.get(index + 1);
        // An id prefix written apart from its number ("VN 30000434", "K-Nr. 10000533").
        let is_prefix = (1..=4).contains(&token.chars().count())
            && token.trim_end_matches(['.', '-', ':']).chars().all(|c| c.is_ascii_alphabetic())
            && next.is_some_and(|next| next.len() >= 6 && next.chars().all(|c| c.is_ascii_digit()));
        if is_prefix {
            tokens.push(format!("{}-{}", token.trim_end_matches(['.', '-', ':']), raw_tokens[index + 1]));
            index += 2;
        } else {
            tokens.push(token.to_owned());
            index += 1;
        }
    }
    for token in &tokens {
        let token = token.as_str();
        if token.contains('@') {
            if let Ok(email) = normalize_email(token) {
                analysis.emails.push(email);
            }
            continue;
        }
        let num_digits = token.chars().filter(char::is_ascii_digit).count();
        let num_letters = token.chars().filter(|c| c.is_alphabetic()).count();
        if num_digits == 0 {
            words_text.push_str(token);
            words_text.push(' ');
            continue;
        }
        if num_digits == token.chars().count() {
            match num_digits {
                1..=4 => analysis.house_numbers.push(token.to_owned()),
                5 => {
                    analysis.postcodes.push(token.to_owned());
                    analysis.ids.push(token.to_owned());
                }
                _ => {
                    analysis.ids.push(token.to_owned());
                    analysis.suffixes.push(token.to_owned());
                }
            }
            continue;
        }
        if num_digits <= 4 && num_letters <= 2 && token.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            analysis.house_numbers.push(token.to_lowercase());
            continue;
        }
        // A word with an OCR confusion ("8achdorfer", "Feld1ing"): read the digits as letters.
        if num_letters >= 4 && num_digits <= 2 {
            words_text.push_str(&read_ocr_digits(token));
            words_text.push(' ');
            continue;
        }
        // Letters and digits: an id with a prefix (VN-0012345) or a meter number.
        analysis.ids.push(token.to_owned());
        if let Ok(meter) = normalize_meter(token) {
            if meter.len() >= MIN_SUFFIX_CHARS {
                analysis.suffixes.push(meter.clone());
            }
            analysis.meters.push(meter);
        }
    }
    analysis.words = name_tokens(&words_text);
    analysis.street_words = analysis.words.iter().map(|word| street_tokens(word).concat()).collect();
    analysis
}

/// Digits that OCR makes of letters, read back as the letters (`0`→o, `1`→l, `5`→s, `8`→b).
fn read_ocr_digits(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            '3' => 'e',
            '5' => 's',
            '8' => 'b',
            other => other,
        })
        .collect()
}

/// Keys of a kind (`tag`) that end with `suffix`: a range over the reversed, tagged keys.
pub(crate) fn suffix_query(fields: &Fields, tag: char, suffix: &str) -> Box<dyn Query> {
    let start = reversed_key(tag, suffix);
    let mut end = start.clone();
    end.push(char::MAX);
    Box::new(RangeQuery::new(
        std::ops::Bound::Included(Term::from_field_text(fields.reversed, &start)),
        std::ops::Bound::Excluded(Term::from_field_text(fields.reversed, &end)),
    ))
}

fn identifier_query(fields: &Fields, analysis: &Analysis) -> Option<Box<dyn Query>> {
    let mut clauses: Vec<Box<dyn Query>> = Vec::new();
    clauses.extend(analysis.emails.iter().map(|email| key(fields.email, email, 1.0)));
    clauses.extend(analysis.ibans.iter().map(|iban| key(fields.iban, iban, 1.0)));
    clauses.extend(analysis.phones.iter().map(|phone| key(fields.phone, phone, 1.0)));
    clauses.extend(analysis.meters.iter().map(|meter| key(fields.meter, meter, 1.0)));
    for id in &analysis.ids {
        for variant in id_variants(id) {
            clauses.push(key(fields.contract_key, &variant, 1.0));
            clauses.push(key(fields.customer_key, &variant, 1.0));
        }
    }
    for suffix in analysis.suffixes.iter().filter(|suffix| suffix.len() >= MIN_SUFFIX_CHARS) {
        let upper = suffix.to_uppercase();
        clauses.push(Box::new(BoostQuery::new(suffix_query(fields, reversed_tag::METER, &upper), 0.8)));
        clauses.push(Box::new(BoostQuery::new(suffix_query(fields, reversed_tag::PHONE, suffix), 0.8)));
        clauses.push(Box::new(BoostQuery::new(suffix_query(fields, reversed_tag::IBAN, &upper), 0.8)));
    }
    (!clauses.is_empty()).then(|| {
        Box::new(BoostQuery::new(Box::new(BooleanQuery::union(clauses)), IDENTIFIER_BOOST)) as Box<dyn Query>
    })
}

/// One word against names, company, street and city: exact, fuzzy (names and company only:
/// fuzzy street and city words mostly add noise), and as a prefix if it may be incomplete.
/// `lenient` (the second pass) allows one more typo on longer words.
fn word_clause(
    fields: &Fields,
    word: &str,
    street_word: &str,
    is_prefix: bool,
    lenient: bool,
) -> Box<dyn Query> {
    let mut clauses = vec![
        term(fields.name, word, 3.0),
        term(fields.company, word, 2.5),
        term(fields.street, street_word, 1.5),
        term(fields.city, word, 1.5),
    ];
    // The lenient pass allows one more edit from six letters (a typo can shorten a long name
    // below the length that allows two).
    let distance = typo_distance(word) + u8::from(lenient && word.chars().count() >= 6);
    clauses.extend(fuzzy_with(fields.name, word, 1.0, distance));
    clauses.extend(fuzzy_with(fields.company, word, 0.8, distance));
    if is_prefix {
        clauses.extend(prefix(fields.prefix, prefix_tag::NAME, fields.name, word, 1.2));
        clauses.extend(prefix(fields.prefix, prefix_tag::COMPANY, fields.company, word, 1.0));
        clauses.extend(prefix(fields.prefix, prefix_tag::STREET, fields.street, street_word, 0.8));
        clauses.extend(prefix(fields.prefix, prefix_tag::CITY, fields.city, word, 0.8));
    }
    Box::new(BooleanQuery::union(clauses))
}

/// Words (all but `allowed_misses` must match), with postcodes and house numbers as optional
/// boosts.
fn words_query(fields: &Fields, analysis: &Analysis, allowed_misses: usize) -> Option<Box<dyn Query>> {
    if analysis.words.is_empty() {
        return None;
    }
    let last = analysis.words.len() - 1;
    let clause = |index: usize| {
        let is_prefix = index == last && analysis.last_word_is_prefix && analysis.house_numbers.is_empty();
        word_clause(
            fields,
            &analysis.words[index],
            &analysis.street_words[index],
            is_prefix,
            allowed_misses > 0,
        )
    };
    let all_but = |skipped: Option<usize>| -> Box<dyn Query> {
        let required = (0..analysis.words.len()).filter(|index| Some(*index) != skipped);
        Box::new(BooleanQuery::new(required.map(|index| (Occur::Must, clause(index))).collect()))
    };
    // Every word must match; in the relaxed pass, every word but one (spelled out as a union of
    // conjunctions: tantivy's minimum-should-match missed documents here in 0.27).
    let words: Box<dyn Query> = if allowed_misses == 0 || analysis.words.len() < 2 {
        all_but(None)
    } else {
        Box::new(BooleanQuery::union(
            (0..analysis.words.len()).map(|skipped| all_but(Some(skipped))).collect(),
        ))
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, words)];
    clauses.extend(analysis.postcodes.iter().map(|zip| (Occur::Should, key(fields.zip, zip, 2.0))));
    clauses.extend(
        analysis.house_numbers.iter().map(|number| (Occur::Should, term(fields.street, number, 1.0))),
    );
    Some(Box::new(BooleanQuery::new(clauses)))
}

/// A ranked contract with the enneo fields its match came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractHit {
    /// The contract.
    pub contract: Contract,
    /// Relevance (higher is better; comparable within one answer only).
    pub score: f32,
    /// enneo field names that matched the query.
    pub matched_fields: Vec<&'static str>,
}

impl ContractSearch {
    /// Documents ranked for the analysed text, best first (at most `limit`): all words must
    /// match; if that finds nothing, every word but one. The addresses belong to `searcher`:
    /// callers read the hits with the same one (a commit in between renumbers segments).
    fn ranked(
        &self,
        generation: &Generation,
        searcher: &Searcher,
        analysis: &Analysis,
        limit: usize,
    ) -> Result<Vec<(f32, DocAddress)>> {
        let fields = generation.fields();
        let mut scored: Vec<(f32, DocAddress)> = Vec::new();
        let mut seen = HashSet::new();
        let passes = if analysis.words.len() >= 2 { 2 } else { 1 };
        for allowed_misses in 0..passes {
            let mut clauses: Vec<Box<dyn Query>> = Vec::new();
            clauses.extend(identifier_query(fields, analysis));
            clauses.extend(words_query(fields, analysis, allowed_misses));
            if clauses.is_empty() {
                break;
            }
            let query = BooleanQuery::union(clauses);
            for hit in searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())? {
                if seen.insert(hit.1) {
                    scored.push(hit);
                }
            }
            // The relaxed pass only when the strict one found nothing: its hits would rank after
            // every strict hit anyway, and it costs several times the strict pass.
            if !scored.is_empty() {
                break;
            }
        }
        scored.truncate(limit);
        Ok(scored)
    }

    /// Contracts ranked for free text, best first (at most `limit`), with the fields that
    /// matched.
    pub fn contracts(&self, text: &str, limit: usize) -> Result<Vec<ContractHit>> {
        let generation = self.generation()?;
        let limit = limit.min(MAX_LIMIT * 4);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let analysis = analyse(text);
        let searcher = generation.searcher();
        self.ranked(&generation, &searcher, &analysis, limit)?
            .into_iter()
            .map(|(score, address)| {
                let contract = generation.load(&searcher, address)?;
                let matched_fields = matched_fields(&contract, &analysis);
                Ok(ContractHit { contract, score, matched_fields })
            })
            .collect()
    }

    /// enneo's free-text executor: customers for the text, at most `limit` after `offset`.
    /// Reads only the customer id column of the hits, never the stored contracts.
    pub fn free_text(&self, query: &FreeTextQuery) -> Result<Vec<CustomerRef>> {
        let limit = query.limit.min(MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let generation = self.generation()?;
        let wanted = query.offset.saturating_add(limit);
        // Several contracts per customer: fetch more contracts than customers wanted.
        let analysis = analyse(&query.q);
        let searcher = generation.searcher();
        let limit_contracts = wanted.saturating_mul(4).min(MAX_LIMIT * 4);
        let hits = self.ranked(&generation, &searcher, &analysis, limit_contracts)?;
        let addresses: Vec<DocAddress> = hits.into_iter().map(|(_, address)| address).collect();
        let customer_ids = generation.customer_ids(&searcher, &addresses)?;
        let mut order: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for id in customer_ids {
            if seen.insert(id.clone()) {
                order.push(id);
            }
        }
        Ok(order.into_iter().skip(query.offset).take(limit).map(|id| CustomerRef { id }).collect())
    }
}

/// Which enneo fields of `contract` the analysed query matched (for highlighting).
fn matched_fields(contract: &Contract, analysis: &Analysis) -> Vec<&'static str> {
    let mut matched = Vec::new();
    let words_in = |text: Option<&str>, street: bool| {
        text.is_some_and(|text| {
            let tokens = if street { street_tokens(text) } else { name_tokens(text) };
            let wanted = if street { &analysis.street_words } else { &analysis.words };
            wanted
                .iter()
                .any(|word| tokens.iter().any(|token| token == word || token.starts_with(word.as_str())))
        })
    };
    if words_in(contract.firstname.as_deref(), false) {
        matched.push("firstname");
    }
    if words_in(contract.lastname.as_deref(), false) {
        matched.push("lastname");
    }
    if words_in(contract.company.as_deref(), false) {
        matched.push("company");
    }
    if words_in(contract.delivery_address.as_deref(), true) {
        matched.push("deliveryAddress");
    }
    let keys = contract_search_index::keys(contract);
    if keys.email.as_ref().is_some_and(|email| analysis.emails.contains(email)) {
        matched.push("email");
    }
    if keys.phones.iter().any(|phone| analysis.phones.contains(phone)) {
        matched.push("phone");
    }
    if keys.iban.as_ref().is_some_and(|iban| analysis.ibans.contains(iban)) {
        matched.push("iban");
    }
    if keys.meter.as_ref().is_some_and(|meter| {
        analysis.meters.contains(meter)
            || analysis.suffixes.iter().any(|suffix| meter.ends_with(&suffix.to_uppercase()))
    }) {
        matched.push("counterNumber");
    }
    if analysis
        .ids
        .iter()
        .any(|id| id_variants(id).iter().any(|variant| keys.contract_keys.contains(variant)))
    {
        matched.push("id");
    }
    if analysis
        .ids
        .iter()
        .any(|id| id_variants(id).iter().any(|variant| keys.customer_keys.contains(variant)))
    {
        matched.push("customerId");
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_recognises_identifiers() {
        assert_eq!(analyse("thomas.mueller@web.de").emails, ["thomas.mueller@web.de"]);
        assert_eq!(analyse("0171/1234567").phones, ["+491711234567"]);
        assert_eq!(analyse("+49 (0)171 1234567").phones, ["+491711234567"]);
        assert_eq!(analyse("DE89 3704 0044 0532 0130 00").ibans, ["DE89370400440532013000"]);
        assert_eq!(analyse("1 ESY 11 60669167").meters, ["1ESY1160669167"]);
        let analysis = analyse("VN-0012345");
        assert_eq!(analysis.ids, ["VN-0012345"]);
        let analysis = analyse("VN 30000434");
        assert_eq!((analysis.ids.as_slice(), analysis.words.len()), (&["VN-30000434".to_owned()][..], 0));
        let analysis = analyse("Wiesenweg 59");
        assert_eq!(
            (analysis.words.as_slice(), analysis.house_numbers.as_slice()),
            (&["wiesenweg".to_owned()][..], &["59".to_owned()][..])
        );
        assert!(analysis.meters.is_empty());
        assert_eq!(analyse("8achdorfer Feld1ing").words, ["bachdorfer", "feldling"]);
        let analysis = analyse("Müller Hauptstr. 5a 01067 Dres");
        assert_eq!(analysis.words, ["muller", "hauptstr", "dres"]);
        assert_eq!(analysis.house_numbers, ["5a"]);
        assert_eq!(analysis.postcodes, ["01067"]);
        assert!(analysis.last_word_is_prefix);
        assert!(!analyse("Müller ").last_word_is_prefix);
    }

    #[test]
    fn four_words() {
        let analysis = analyse("Blumgruber Hans Schwäbisch Hall");
        assert_eq!(analysis.words, ["blumgruber", "hans", "schwabisch", "hall"], "{analysis:?}");
    }

    proptest::proptest! {
        #[test]
        fn analysis_never_panics(text in ".{0,60}") {
            let _ = analyse(&text);
        }

        #[test]
        fn analysis_of_separated_umlauts_never_panics(text in "[äöüßa-z0-9 ,@.+/()-]{0,40}") {
            let _ = analyse(&text);
        }
    }
}
