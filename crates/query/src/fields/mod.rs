//! The fields search: what enneo's AI extracted from an email, letter or call (any field may be
//! missing, partial or wrong) → exactly one confident contract, or none.
//!
//! 1. **Candidates**: one tantivy query of `Should` clauses over every field given: id variants,
//!    normalised email, phone, meter number (whole or as a suffix), folded and typo-tolerant
//!    names, company, street and house number, postcode, city. The best-scored contracts are
//!    candidates.
//! 2. **Scoring**: each candidate is compared field by field ([`similarity`]); a field adds its
//!    weight times its similarity as evidence, and a field that clearly disagrees subtracts a
//!    penalty (a contradiction). Strong identifiers (contract id, meter number, email, phone)
//!    weigh far more than names; first and last name are also tried swapped.
//! 3. **Decision**: the best candidate is returned only if its score clears `min_score`, its
//!    similarity (evidence over the weight of all fields given) clears `min_similarity`, and it
//!    beats the best candidate of any *other* customer by `min_margin`. Contracts of the same
//!    customer never compete: the customer is certain, and the contract is picked by the primary
//!    contract rule (active before ended, then the newest). Otherwise: no match.
//!
//! A wrong match shows one customer's data to another, so every doubt ends in "no match".

pub mod similarity;

use std::collections::HashSet;

use contract_search_index::analysis::name_tokens;
use contract_search_index::schema::reversed_tag;
use contract_search_index::{Fields, phone_keys};
use contract_search_model::normalize::{
    id_variants, normalize_email, normalize_meter, normalize_phone, parse_address,
};
use contract_search_model::{Contract, FieldsMatch, FieldsQuery};
use serde::Serialize;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query};

use crate::customer::primary_first;
use crate::free_text::{MIN_SUFFIX_CHARS, suffix_query};
use crate::terms::{fuzzy, key, term};
use crate::{ContractSearch, Result};

/// Thresholds of the decision; settings of the server.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FieldsSettings {
    /// Least score (evidence minus contradictions) of a match.
    pub min_score: f32,
    /// Least similarity (evidence over the weight of the fields given) of a match.
    pub min_similarity: f32,
    /// Least lead of the match over the best candidate of another customer.
    pub min_margin: f32,
    /// Candidates scored.
    pub max_candidates: usize,
}

impl Default for FieldsSettings {
    fn default() -> Self {
        FieldsSettings { min_score: 6.5, min_similarity: 0.55, min_margin: 2.5, max_candidates: 40 }
    }
}

/// One field's verdict on a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct FieldVerdict {
    /// enneo's input field name.
    pub field: &'static str,
    /// Similarity in [0, 1].
    pub similarity: f32,
    /// Whether the field disagrees clearly (a contradiction).
    pub contradicts: bool,
}

/// A scored candidate (returned with `explain`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The contract.
    pub contract_id: String,
    /// Its customer.
    pub customer_id: String,
    /// Evidence minus contradictions.
    pub score: f32,
    /// Evidence over the weight of all fields given, in [0, 1].
    pub similarity: f32,
    /// Field by field.
    pub fields: Vec<FieldVerdict>,
}

impl Candidate {
    fn contradicts(&self, field: &str) -> bool {
        self.fields.iter().any(|verdict| verdict.field == field && verdict.contradicts)
    }

    fn has_strong_identifier(&self) -> bool {
        self.fields.iter().any(|verdict| IDENTIFYING.contains(&verdict.field) && verdict.similarity >= 0.8)
    }

    /// Whether the candidate is ruled out whatever its score:
    /// - a contract id, customer id, meter number, surname or company that disagrees;
    /// - a match resting on the address alone, while the first name, postcode or town disagrees
    ///   (a household has several members; the same street exists in many towns);
    /// - a match resting on an identifier while both the first name and the place disagree.
    pub fn is_disqualified(&self) -> bool {
        if self.fields.iter().any(|verdict| verdict.contradicts && DISQUALIFYING.contains(&verdict.field)) {
            return true;
        }
        let first_name = self.contradicts("firstname");
        let place = self.contradicts("postalCode") || self.contradicts("city") || self.contradicts("address");
        if self.has_strong_identifier() {
            first_name && place
        } else {
            first_name || self.contradicts("postalCode") || self.contradicts("city")
        }
    }

    /// Whether the match rests on something that identifies a customer: an identifier that
    /// matched, or the street with the house number. A name with a postcode or town alone does
    /// not (namesakes, and people who are not customers, share those).
    pub fn has_identifying_evidence(&self) -> bool {
        let similarity = |field: &str| {
            self.fields
                .iter()
                .find(|verdict| verdict.field == field)
                .map_or(0.0, |verdict| verdict.similarity)
        };
        IDENTIFYING.iter().any(|field| similarity(field) >= 0.8)
            || (similarity("address") >= 0.8 && similarity("houseNumber") >= 1.0)
    }
}

/// The answer of a fields search.
#[derive(Debug, Clone, Serialize)]
pub struct FieldsOutcome {
    /// The one confident match, or `None`.
    pub matched: Option<FieldsMatch>,
    /// Why this answer (a short sentence, always filled).
    pub reason: &'static str,
    /// The best candidates with their scores (only when asked to explain).
    pub candidates: Vec<Candidate>,
}

/// The extracted fields, normalised once.
#[derive(Debug, Default)]
struct Extracted {
    contract_ids: Vec<String>,
    customer_ids: Vec<String>,
    email: Option<String>,
    phone: Option<String>,
    meter: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    company: Option<String>,
    street: Option<String>,
    house_number: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

impl Extracted {
    fn from_query(query: &FieldsQuery) -> Extracted {
        let address = given(&query.address).map(parse_address).unwrap_or_default();
        let digits_only = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
        Extracted {
            contract_ids: given(&query.contract_id).map(id_variants).unwrap_or_default(),
            customer_ids: given(&query.customer_id).map(id_variants).unwrap_or_default(),
            email: given(&query.email).and_then(|email| normalize_email(email).ok()),
            phone: given(&query.phone).and_then(|phone| normalize_phone(phone).ok()),
            meter: given(&query.meter_number).and_then(|meter| normalize_meter(meter).ok()),
            firstname: given(&query.firstname).map(str::to_owned),
            lastname: given(&query.lastname).map(str::to_owned),
            company: given(&query.company).map(str::to_owned),
            street: address.street,
            house_number: address.house_number,
            postcode: given(&query.postal_code)
                .map(digits_only)
                .filter(|zip| zip.len() == 5)
                .or(address.postcode),
            city: given(&query.city).map(str::to_owned).or(address.city),
        }
    }

    fn is_empty(&self) -> bool {
        self.contract_ids.is_empty()
            && self.customer_ids.is_empty()
            && self.email.is_none()
            && self.phone.is_none()
            && self.meter.is_none()
            && self.firstname.is_none()
            && self.lastname.is_none()
            && self.company.is_none()
            && self.street.is_none()
            && self.postcode.is_none()
            && self.city.is_none()
    }
}

/// The candidate query: contracts that match an identifier, a name, the company or a street
/// word, ranked with the house number, postcode and city as boosts. Those three never make a
/// candidate on their own (house number 1 or a big city match a large part of all contracts, and
/// scoring them all would cost more than everything else), unless nothing else was given.
fn candidate_query(fields: &Fields, extracted: &Extracted) -> BooleanQuery {
    let mut clauses: Vec<Box<dyn Query>> = Vec::new();
    clauses.extend(extracted.contract_ids.iter().map(|id| key(fields.contract_key, id, 10.0)));
    clauses.extend(extracted.customer_ids.iter().map(|id| key(fields.customer_key, id, 8.0)));
    clauses.extend(extracted.email.iter().map(|email| key(fields.email, email, 8.0)));
    clauses.extend(extracted.phone.iter().map(|phone| key(fields.phone, phone, 7.0)));
    if let Some(meter) = &extracted.meter {
        clauses.push(key(fields.meter, meter, 9.0));
        if meter.len() >= MIN_SUFFIX_CHARS {
            clauses.push(Box::new(BoostQuery::new(suffix_query(fields, reversed_tag::METER, meter), 7.0)));
        }
    }
    for token in extracted.lastname.as_deref().map(name_tokens).unwrap_or_default() {
        clauses.push(term(fields.name, &token, 3.0));
        clauses.extend(fuzzy(fields.name, &token, 1.5));
    }
    for token in extracted.company.as_deref().map(name_tokens).unwrap_or_default() {
        clauses.push(term(fields.company, &token, 2.5));
        clauses.extend(fuzzy(fields.company, &token, 1.0));
    }
    for token in extracted.street.as_deref().map(similarity::street_words).unwrap_or_default() {
        clauses.push(term(fields.street, &token, 1.5));
    }
    // First names are shared by many: a candidate needs more than one, unless it is all there is
    // besides the place.
    let mut first_names: Vec<Box<dyn Query>> = Vec::new();
    for token in extracted.firstname.as_deref().map(name_tokens).unwrap_or_default() {
        first_names.push(term(fields.name, &token, 1.5));
        first_names.extend(fuzzy(fields.name, &token, 0.75));
    }
    let mut boosts: Vec<Box<dyn Query>> = Vec::new();
    if clauses.is_empty() {
        clauses.append(&mut first_names);
    } else {
        boosts.append(&mut first_names);
    }
    if let Some(number) = &extracted.house_number {
        boosts.push(term(fields.street, &number.to_lowercase(), 1.0));
    }
    boosts.extend(extracted.postcode.iter().map(|zip| key(fields.zip, zip, 1.5)));
    for token in extracted.city.as_deref().map(name_tokens).unwrap_or_default() {
        boosts.push(term(fields.city, &token, 0.75));
    }
    if clauses.is_empty() {
        return BooleanQuery::union(boosts);
    }
    let mut query: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(BooleanQuery::union(clauses)))];
    query.extend(boosts.into_iter().map(|boost| (Occur::Should, boost)));
    BooleanQuery::new(query)
}

/// Weight (evidence at similarity 1) and penalty (when contradicted) of each field (public so
/// that the PostgreSQL peer of the benchmark scores with the same weights).
#[allow(missing_docs)]
pub mod weight {
    pub const CONTRACT_ID: (f32, f32) = (10.0, 8.0);
    pub const CUSTOMER_ID: (f32, f32) = (8.0, 6.0);
    pub const EMAIL: (f32, f32) = (8.0, 1.0);
    pub const PHONE: (f32, f32) = (7.0, 0.5);
    pub const METER: (f32, f32) = (9.0, 4.0);
    pub const LASTNAME: (f32, f32) = (3.0, 4.0);
    pub const FIRSTNAME: (f32, f32) = (1.5, 1.5);
    pub const COMPANY: (f32, f32) = (4.0, 3.0);
    pub const STREET: (f32, f32) = (2.0, 1.0);
    pub const HOUSE_NUMBER: (f32, f32) = (1.5, 1.5);
    pub const POSTCODE: (f32, f32) = (1.5, 1.5);
    pub const CITY: (f32, f32) = (0.75, 0.5);
}

/// Below this similarity a field given counts as contradicting the candidate.
const CONTRADICTION_BELOW: f32 = 0.5;
/// Company names contradict below this similarity (one shared word of two is not the company).
const COMPANY_CONTRADICTION_BELOW: f32 = 0.75;

/// Fields whose contradiction rules a candidate out, whatever else matches: a contract id, meter
/// number or customer id that belongs to someone else, or a clearly different surname or company
/// (a right contract id with a wrong name is how one customer's data reaches another).
pub const DISQUALIFYING: &[&str] = &["contractId", "customerId", "meterNumber", "lastname", "company"];

/// Fields that identify on their own when they match.
pub const IDENTIFYING: &[&str] = &["contractId", "customerId", "email", "phone", "meterNumber"];

struct Tally {
    evidence: f32,
    penalty: f32,
    total_weight: f32,
    verdicts: Vec<FieldVerdict>,
}

impl Tally {
    fn add(&mut self, field: &'static str, (weight, penalty): (f32, f32), similarity: f32) {
        let below = if field == "company" { COMPANY_CONTRADICTION_BELOW } else { CONTRADICTION_BELOW };
        let contradicts = similarity < below;
        self.evidence += weight * similarity;
        self.total_weight += weight;
        if contradicts {
            self.penalty += penalty;
        }
        self.verdicts.push(FieldVerdict { field, similarity, contradicts });
    }
}

/// Scores a candidate. Only the stored values the query needs are normalised (parsing phone
/// numbers and addresses is most of the cost of a candidate).
fn score(extracted: &Extracted, contract: &Contract) -> Candidate {
    let mut tally = Tally { evidence: 0.0, penalty: 0.0, total_weight: 0.0, verdicts: Vec::new() };
    if !extracted.contract_ids.is_empty() {
        let stored = id_variants(&contract.id);
        let hit = extracted.contract_ids.iter().any(|id| stored.contains(id));
        tally.add("contractId", weight::CONTRACT_ID, if hit { 1.0 } else { 0.0 });
    }
    if !extracted.customer_ids.is_empty() {
        let stored = id_variants(&contract.customer_id);
        let hit = extracted.customer_ids.iter().any(|id| stored.contains(id));
        tally.add("customerId", weight::CUSTOMER_ID, if hit { 1.0 } else { 0.0 });
    }
    if let Some(email) = &extracted.email {
        let stored = contract.email.as_deref().and_then(|email| normalize_email(email).ok());
        let similarity = match &stored {
            Some(stored) if stored == email => 1.0,
            // Same person, other provider: not proof, not a contradiction either.
            Some(stored) if stored.split('@').next() == email.split('@').next() => 0.5,
            _ => 0.0,
        };
        tally.add("email", weight::EMAIL, similarity);
    }
    if let Some(phone) = &extracted.phone {
        let tail = |number: &str| number.chars().rev().take(7).collect::<String>();
        let stored = phone_keys(contract);
        let similarity = if stored.contains(phone) {
            1.0
        } else if stored.iter().any(|stored| tail(stored) == tail(phone)) {
            0.8
        } else {
            0.0
        };
        tally.add("phone", weight::PHONE, similarity);
    }
    if let Some(meter) = &extracted.meter {
        let stored = contract.counter_number.as_deref().and_then(|meter| normalize_meter(meter).ok());
        let similarity = match &stored {
            Some(stored) if stored == meter => 1.0,
            Some(stored) if meter.len() >= MIN_SUFFIX_CHARS && stored.ends_with(meter.as_str()) => 0.9,
            _ => 0.0,
        };
        tally.add("meterNumber", weight::METER, similarity);
    }
    // Names, also tried swapped (extraction mixes up first and last name).
    let stored_last = contract.lastname.as_deref().unwrap_or("");
    let stored_first = contract.firstname.as_deref().unwrap_or("");
    let name_pair = |last: Option<&str>, first: Option<&str>| {
        (
            last.map(|last| similarity::name(last, stored_last)),
            first.map(|first| similarity::first_name(first, stored_first)),
        )
    };
    let straight = name_pair(extracted.lastname.as_deref(), extracted.firstname.as_deref());
    let swapped = name_pair(extracted.firstname.as_deref(), extracted.lastname.as_deref());
    let total = |(last, first): (Option<f32>, Option<f32>)| {
        last.unwrap_or(0.0) * weight::LASTNAME.0 + first.unwrap_or(0.0) * weight::FIRSTNAME.0
    };
    let (last, first) = if total(swapped) > total(straight) { swapped } else { straight };
    if let Some(last) = last {
        tally.add("lastname", weight::LASTNAME, last);
    }
    if let Some(first) = first {
        tally.add("firstname", weight::FIRSTNAME, first);
    }
    if let Some(company) = &extracted.company {
        let stored = contract.company.as_deref().unwrap_or("");
        tally.add("company", weight::COMPANY, similarity::company(company, stored));
    }
    let stored_address = contract.delivery_address.as_deref().map(parse_address).unwrap_or_default();
    let mut street_similarity = None;
    if let Some(street) = &extracted.street {
        let similarity = similarity::street(street, stored_address.street.as_deref().unwrap_or(""));
        street_similarity = Some(similarity);
        tally.add("address", weight::STREET, similarity);
    }
    if let Some(number) = &extracted.house_number {
        // A house number only means something on the right street.
        if street_similarity.is_none_or(|similarity| similarity >= CONTRADICTION_BELOW) {
            let similarity =
                similarity::house_number(number, stored_address.house_number.as_deref().unwrap_or(""));
            tally.add("houseNumber", weight::HOUSE_NUMBER, similarity);
        }
    }
    if let Some(postcode) = &extracted.postcode {
        let stored = contract.zip.as_deref().or(stored_address.postcode.as_deref());
        let similarity = if stored == Some(postcode.as_str()) { 1.0 } else { 0.0 };
        tally.add("postalCode", weight::POSTCODE, similarity);
    }
    if let Some(city) = &extracted.city {
        tally.add("city", weight::CITY, similarity::city(city, stored_address.city.as_deref().unwrap_or("")));
    }
    Candidate {
        contract_id: contract.id.clone(),
        customer_id: contract.customer_id.clone(),
        score: tally.evidence - tally.penalty,
        similarity: if tally.total_weight > 0.0 { tally.evidence / tally.total_weight } else { 0.0 },
        fields: tally.verdicts,
    }
}

impl ContractSearch {
    /// enneo's fields executor: one confident, unambiguous match or none. With `explain`, the
    /// scored candidates come back too.
    pub fn fields(&self, query: &FieldsQuery, explain: bool) -> Result<FieldsOutcome> {
        let settings = self.fields_settings;
        let extracted = Extracted::from_query(query);
        let none = |reason, candidates| Ok(FieldsOutcome { matched: None, reason, candidates });
        if extracted.is_empty() {
            return none("no usable field was given", Vec::new());
        }
        let generation = self.generation()?;
        let searcher = generation.searcher();
        let query = candidate_query(generation.fields(), &extracted);
        let hits = searcher.search(&query, &TopDocs::with_limit(settings.max_candidates).order_by_score())?;
        let mut scored: Vec<(Candidate, Contract)> = Vec::with_capacity(hits.len());
        for (_, address) in hits {
            let contract = generation.load(&searcher, address)?;
            scored.push((score(&extracted, &contract), contract));
        }
        // Best score first; among equals of one customer, the primary contract first.
        scored.sort_by(|(left, left_contract), (right, right_contract)| {
            right.score.total_cmp(&left.score).then_with(|| primary_first(left_contract, right_contract))
        });
        let candidates: Vec<Candidate> = if explain {
            let mut seen = HashSet::new();
            scored
                .iter()
                .filter(|(candidate, _)| seen.insert(candidate.contract_id.clone()))
                .take(10)
                .map(|(c, _)| c.clone())
                .collect()
        } else {
            Vec::new()
        };
        let Some((best, _)) = scored.first() else {
            return none("no candidate", candidates);
        };
        if best.score < settings.min_score {
            return none("best candidate below the score threshold", candidates);
        }
        if best.similarity < settings.min_similarity {
            return none("best candidate below the similarity threshold", candidates);
        }
        if best.is_disqualified() {
            return none("an identifier or the name of the best candidate contradicts the input", candidates);
        }
        if !best.has_identifying_evidence() {
            return none("nothing identifying matched (a name with a town is not enough)", candidates);
        }
        let runner_up = scored.iter().find(|(candidate, _)| candidate.customer_id != best.customer_id);
        if let Some((runner_up, _)) = runner_up
            && best.score - runner_up.score < settings.min_margin
        {
            return none("another customer fits almost as well", candidates);
        }
        let matched = FieldsMatch {
            contract_id: best.contract_id.clone(),
            customer_id: best.customer_id.clone(),
            customer_legitimation: None,
            customer_legitimation_message: None,
        };
        Ok(FieldsOutcome { matched: Some(matched), reason: "confident match", candidates })
    }
}
