//! The fields search on PostgreSQL: what enneo's AI extracted → one confident contract, or none.
//!
//! 1. **Plan** ([`FieldsPlan`]): the extracted fields normalised by the product's normalisers
//!    (id variants, email, E.164 phone, meter number) and folded (names, street, city).
//! 2. **One statement**: a `UNION` of candidate look-ups, one branch per field given: exact
//!    B-tree look-ups for identifiers (and a range on the reversed meter number for its last
//!    digits), and trigram (`%`) look-ups for the name or company, each narrowed by what is
//!    known of the place (postcode, else town, else street), best 50 by `similarity()`. Fuzzy
//!    branches run only when no identifier was given or a street was (which with its house
//!    number identifies on its own): otherwise an identifier finds its contract, and a name
//!    scan would cost much and add nothing. The same statement computes, per candidate, each
//!    field's `similarity()` (or equality for identifiers).
//! 3. **Score and decide** in Rust ([`decide`]): a weighted sum of the field similarities minus
//!    penalties for contradicting fields; the best candidate wins only above a score and
//!    similarity threshold, with something identifying, nothing disqualifying, and a lead over
//!    the best candidate of any *other* customer. Several contracts of the one customer are not
//!    ambiguity: the primary contract (active, then newest) is returned.
//!
//! The weights and rules follow contract-search's (identifiers far above names; a contradicting
//! contract id, customer id, meter number, surname or company rules a candidate out), with
//! thresholds re-tuned for trigram similarity, which scores a one-letter typo in a short name
//! at about 0.5 to 0.6 where an edit distance scores it 0.85.

use std::fmt::Write as _;

use contract_search_model::normalize::{
    fold_city, fold_name, fold_street, id_variants, normalize_email, normalize_meter, normalize_phone,
    parse_address,
};
use contract_search_model::{FieldsMatch, FieldsQuery};
// contract-search's own weights and rules (which fields rule a candidate out, which identify).
use contract_search_query::fields::{DISQUALIFYING, IDENTIFYING, weight};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::schema::house_number_key;

/// Shortest meter number looked up as the last digits of a stored one.
pub const MIN_SUFFIX_CHARS: usize = 6;
/// Candidates each fuzzy branch contributes.
const FUZZY_BRANCH_LIMIT: usize = 50;
/// Candidates each identifier branch contributes (a customer id can have many contracts).
const IDENTIFIER_BRANCH_LIMIT: usize = 100;

/// The extracted fields, normalised and folded once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldsPlan {
    /// Contract id variants.
    pub contract_ids: Vec<String>,
    /// Customer id variants.
    pub customer_ids: Vec<String>,
    /// Normalised email.
    pub email: Option<String>,
    /// Phone in E.164.
    pub phone: Option<String>,
    /// Normalised meter number (whole or its last digits).
    pub meter: Option<String>,
    /// Folded surname.
    pub lastname: Option<String>,
    /// Folded first name.
    pub firstname: Option<String>,
    /// Folded company.
    pub company: Option<String>,
    /// Folded street (without house number).
    pub street: Option<String>,
    /// House number key.
    pub house_number: Option<String>,
    /// Five-digit postcode.
    pub postcode: Option<String>,
    /// Folded town.
    pub city: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

fn fold(value: Option<&str>, folder: fn(&str) -> String) -> Option<String> {
    value.map(folder).filter(|folded| !folded.is_empty())
}

impl FieldsPlan {
    /// The plan of enneo's fields input.
    pub fn from_query(query: &FieldsQuery) -> FieldsPlan {
        let address = given(&query.address).map(parse_address).unwrap_or_default();
        let digits_only = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
        FieldsPlan {
            contract_ids: given(&query.contract_id).map(id_variants).unwrap_or_default(),
            customer_ids: given(&query.customer_id).map(id_variants).unwrap_or_default(),
            email: given(&query.email).and_then(|email| normalize_email(email).ok()),
            phone: given(&query.phone).and_then(|phone| normalize_phone(phone).ok()),
            meter: given(&query.meter_number).and_then(|meter| normalize_meter(meter).ok()),
            lastname: fold(given(&query.lastname), fold_name),
            firstname: fold(given(&query.firstname).map(|first| first.trim_end_matches('.')), fold_name),
            company: fold(given(&query.company), fold_name),
            street: fold(address.street.as_deref(), fold_street),
            house_number: address.house_number.as_deref().map(house_number_key),
            postcode: given(&query.postal_code)
                .map(digits_only)
                .filter(|zip| zip.len() == 5)
                .or(address.postcode),
            city: fold(given(&query.city).or(address.city.as_deref()), fold_city),
        }
    }

    /// Whether nothing usable was given.
    pub fn is_empty(&self) -> bool {
        !self.has_identifier()
            && self.lastname.is_none()
            && self.firstname.is_none()
            && self.company.is_none()
            && self.street.is_none()
            && self.postcode.is_none()
            && self.city.is_none()
    }

    fn has_identifier(&self) -> bool {
        !self.contract_ids.is_empty()
            || !self.customer_ids.is_empty()
            || self.email.is_some()
            || self.phone.is_some()
            || self.meter.is_some()
    }

    /// First and last name as one folded text (trigram similarity ignores word order, so
    /// swapped names match as well).
    fn full_name(&self) -> Option<String> {
        match (&self.firstname, &self.lastname) {
            (Some(first), Some(last)) => Some(format!("{first} {last}")),
            (first, last) => first.clone().or_else(|| last.clone()),
        }
    }

    fn meter_suffix_range(&self) -> Option<(String, String)> {
        let meter = self.meter.as_deref().filter(|meter| meter.len() >= MIN_SUFFIX_CHARS)?;
        let low: String = meter.chars().rev().collect();
        // Keys are uppercase letters and digits: `~` sorts after all of them (collation "C").
        let high = format!("{low}~");
        Some((low, high))
    }

    /// The parameters in [`PARAM_TYPES`] order.
    pub fn params(&self) -> Vec<Box<dyn ToSql + Sync + Send>> {
        let (suffix_low, suffix_high) = self.meter_suffix_range().unzip();
        let email_local = self.email.as_deref().and_then(|email| email.split('@').next()).map(str::to_owned);
        vec![
            Box::new(self.contract_ids.clone()),
            Box::new(self.customer_ids.clone()),
            Box::new(self.email.clone()),
            Box::new(email_local),
            Box::new(self.phone.clone()),
            Box::new(self.meter.clone()),
            Box::new(self.lastname.clone()),
            Box::new(self.firstname.clone()),
            Box::new(self.full_name()),
            Box::new(self.company.clone()),
            Box::new(self.street.clone()),
            Box::new(self.house_number.clone()),
            Box::new(self.postcode.clone()),
            Box::new(self.city.clone()),
            Box::new(suffix_low),
            Box::new(suffix_high),
        ]
    }

    /// The statement for the fields given: candidate branches, then per-candidate features.
    /// The text depends only on *which* fields are given, so it is prepared once per shape.
    pub fn sql(&self) -> String {
        let mut branches: Vec<String> = Vec::new();
        let id_limit = IDENTIFIER_BRANCH_LIMIT;
        if !self.contract_ids.is_empty() {
            branches.push(format!(
                "(SELECT id FROM contracts WHERE contract_key = ANY($1) OR contract_num = ANY($1) LIMIT {id_limit})"
            ));
        }
        if !self.customer_ids.is_empty() {
            branches.push(format!(
                "(SELECT id FROM contracts WHERE customer_key = ANY($2) OR customer_num = ANY($2) LIMIT {id_limit})"
            ));
        }
        if self.email.is_some() {
            branches.push(format!("(SELECT id FROM contracts WHERE email = $3 LIMIT {id_limit})"));
        }
        if self.phone.is_some() {
            branches.push(format!("(SELECT id FROM contracts WHERE phones @> ARRAY[$5] LIMIT {id_limit})"));
        }
        if self.meter.is_some() {
            branches.push(format!("(SELECT id FROM contracts WHERE meter = $6 LIMIT {id_limit})"));
        }
        if self.meter_suffix_range().is_some() {
            branches.push(format!(
                "(SELECT id FROM contracts WHERE meter IS NOT NULL AND reverse(meter) >= $15 \
                 AND reverse(meter) < $16 LIMIT {id_limit})"
            ));
        }
        // The place that narrows a fuzzy branch: the postcode, else the town.
        let place = if self.postcode.is_some() {
            Some("zip = $13")
        } else if self.city.is_some() {
            Some("city %> $14")
        } else {
            None
        };
        let street = self.street.is_some().then_some("street % $11");
        // With an identifier, candidates found by name only compete with it if the street could
        // identify them too; otherwise the identifier's own candidates decide.
        let fuzzy = !self.has_identifier() || street.is_some();
        let mut fuzzy_branch = |column: &str, param: &str, narrowing: Option<&str>| {
            let mut sql = format!("(SELECT id FROM contracts WHERE {column} % {param}");
            if let Some(narrowing) = narrowing {
                let _ = write!(sql, " AND {narrowing}");
            }
            let _ = write!(sql, " ORDER BY similarity({column}, {param}) DESC LIMIT {FUZZY_BRANCH_LIMIT})");
            branches.push(sql);
        };
        for (given, column, param) in
            [(self.full_name().is_some(), "full_name", "$9"), (self.company.is_some(), "company", "$10")]
        {
            if !given || !fuzzy {
                continue;
            }
            // The postcode or town narrows best (and by an index on equality); the street only
            // when no place was given, since a street name recurs in every town.
            fuzzy_branch(column, param, place.or(street));
        }
        if fuzzy
            && self.full_name().is_none()
            && self.company.is_none()
            && street.is_some()
            && place.is_some()
        {
            fuzzy_branch("street", "$11", place);
        }
        if branches.is_empty() {
            // Only a town or only a postcode: nothing a match could rest on.
            branches.push("(SELECT id FROM contracts WHERE false)".to_owned());
        }
        format!(
            "{FEATURES_SELECT} FROM ({}) AS candidates JOIN contracts c USING (id)",
            branches.join(" UNION ")
        )
    }
}

/// The parameter types of [`FieldsPlan::sql`] (declared, since a shape may not use them all).
pub const PARAM_TYPES: &[Type] = &[
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// What the statement returns per candidate: identifier equalities and `pg_trgm` similarities
/// (NULL where the field was not given or the contract lacks it).
const FEATURES_SELECT: &str = "SELECT c.id, c.customer_id, c.status_rank, c.start_date,
    (c.contract_key = ANY($1) OR coalesce(c.contract_num = ANY($1), false)) AS contract_hit,
    (c.customer_key = ANY($2) OR coalesce(c.customer_num = ANY($2), false)) AS customer_hit,
    c.email = $3 AS email_hit,
    split_part(c.email, '@', 1) = $4 AS email_local_hit,
    $5 = ANY(c.phones) AS phone_hit,
    EXISTS (SELECT 1 FROM unnest(c.phones) AS p WHERE right(p, 7) = right($5, 7)) AS phone_tail_hit,
    c.meter = $6 AS meter_hit,
    right(c.meter, length($6)) = $6 AS meter_suffix_hit,
    greatest(similarity(c.lastname, $7), 0.8 * strict_word_similarity($7, c.lastname),
             0.8 * strict_word_similarity(c.lastname, $7))::real AS last_sim,
    similarity(c.firstname, $8)::real AS first_sim,
    greatest(similarity(c.lastname, $8), 0.8 * strict_word_similarity($8, c.lastname),
             0.8 * strict_word_similarity(c.lastname, $8))::real AS last_swapped_sim,
    similarity(c.firstname, $7)::real AS first_swapped_sim,
    greatest(similarity(c.company, $10), 0.9 * strict_word_similarity($10, c.company),
             0.9 * strict_word_similarity(c.company, $10))::real AS company_sim,
    similarity(c.street, $11)::real AS street_sim,
    c.house_number = $12 AS house_number_hit,
    c.zip = $13 AS zip_hit,
    word_similarity($14, c.city)::real AS city_sim";

/// One candidate as the statement returns it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Contract id.
    pub contract_id: String,
    /// Customer id.
    pub customer_id: String,
    /// The primary contract rule's status rank.
    pub status_rank: i16,
    /// Supply start (Unix seconds).
    pub start_date: Option<i64>,
    contract_hit: bool,
    customer_hit: bool,
    email_hit: Option<bool>,
    email_local_hit: Option<bool>,
    phone_hit: Option<bool>,
    phone_tail_hit: bool,
    meter_hit: Option<bool>,
    meter_suffix_hit: Option<bool>,
    last_sim: Option<f32>,
    first_sim: Option<f32>,
    last_swapped_sim: Option<f32>,
    first_swapped_sim: Option<f32>,
    company_sim: Option<f32>,
    street_sim: Option<f32>,
    house_number_hit: Option<bool>,
    zip_hit: Option<bool>,
    city_sim: Option<f32>,
}

impl Features {
    /// Reads a row of [`FieldsPlan::sql`].
    pub fn from_row(row: &Row) -> Result<Features, tokio_postgres::Error> {
        Ok(Features {
            contract_id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
            status_rank: row.try_get("status_rank")?,
            start_date: row.try_get("start_date")?,
            contract_hit: row.try_get("contract_hit")?,
            customer_hit: row.try_get("customer_hit")?,
            email_hit: row.try_get("email_hit")?,
            email_local_hit: row.try_get("email_local_hit")?,
            phone_hit: row.try_get("phone_hit")?,
            phone_tail_hit: row.try_get("phone_tail_hit")?,
            meter_hit: row.try_get("meter_hit")?,
            meter_suffix_hit: row.try_get("meter_suffix_hit")?,
            last_sim: row.try_get("last_sim")?,
            first_sim: row.try_get("first_sim")?,
            last_swapped_sim: row.try_get("last_swapped_sim")?,
            first_swapped_sim: row.try_get("first_swapped_sim")?,
            company_sim: row.try_get("company_sim")?,
            street_sim: row.try_get("street_sim")?,
            house_number_hit: row.try_get("house_number_hit")?,
            zip_hit: row.try_get("zip_hit")?,
            city_sim: row.try_get("city_sim")?,
        })
    }
}

/// Thresholds of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FieldsThresholds {
    /// Least score (evidence minus penalties) of a match.
    pub min_score: f32,
    /// Least similarity (evidence over the weight of the fields given).
    pub min_similarity: f32,
    /// Least lead over the best candidate of another customer.
    pub min_margin: f32,
    /// Below this trigram similarity a name, street or town contradicts.
    pub contradiction_below: f32,
    /// Below this similarity a company contradicts (one shared word of two is not the company).
    pub company_contradiction_below: f32,
}

impl Default for FieldsThresholds {
    fn default() -> Self {
        FieldsThresholds {
            min_score: 6.0,
            min_similarity: 0.5,
            min_margin: 2.0,
            contradiction_below: 0.3,
            company_contradiction_below: 0.5,
        }
    }
}

/// One field's verdict on a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct FieldVerdict {
    /// enneo's input field name.
    pub field: &'static str,
    /// Similarity in [0, 1].
    pub similarity: f32,
    /// Whether the field contradicts the candidate.
    pub contradicts: bool,
}

/// A scored candidate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scored {
    /// Contract id.
    pub contract_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Evidence minus penalties.
    pub score: f32,
    /// Evidence over the weight of the fields given.
    pub similarity: f32,
    /// Field by field.
    pub fields: Vec<FieldVerdict>,
    #[serde(skip)]
    status_rank: i16,
    #[serde(skip)]
    start_date: Option<i64>,
}

impl Scored {
    fn similarity_of(&self, field: &str) -> f32 {
        self.fields.iter().find(|verdict| verdict.field == field).map_or(0.0, |verdict| verdict.similarity)
    }

    fn contradicts(&self, field: &str) -> bool {
        self.fields.iter().any(|verdict| verdict.field == field && verdict.contradicts)
    }

    fn has_identifying_evidence(&self) -> bool {
        IDENTIFYING.iter().any(|field| self.similarity_of(field) >= 0.8)
            || (self.similarity_of("address") >= 0.6 && self.similarity_of("houseNumber") >= 1.0)
    }

    fn is_disqualified(&self) -> bool {
        if self.fields.iter().any(|verdict| verdict.contradicts && DISQUALIFYING.contains(&verdict.field)) {
            return true;
        }
        let first_name = self.contradicts("firstname");
        let place = self.contradicts("postalCode") || self.contradicts("city") || self.contradicts("address");
        if IDENTIFYING.iter().any(|field| self.similarity_of(field) >= 0.8) {
            first_name && place
        } else {
            first_name || self.contradicts("postalCode") || self.contradicts("city")
        }
    }

    /// The primary contract rule (active before pending before ended, then the newest start,
    /// then the highest id), best first.
    fn primary_order(&self, other: &Scored) -> std::cmp::Ordering {
        self.status_rank
            .cmp(&other.status_rank)
            .then_with(|| other.start_date.unwrap_or(i64::MIN).cmp(&self.start_date.unwrap_or(i64::MIN)))
            .then_with(|| other.contract_id.len().cmp(&self.contract_id.len()))
            .then_with(|| other.contract_id.cmp(&self.contract_id))
    }
}

struct Tally {
    evidence: f32,
    penalty: f32,
    total_weight: f32,
    verdicts: Vec<FieldVerdict>,
    thresholds: FieldsThresholds,
}

impl Tally {
    fn add(&mut self, field: &'static str, (weight, penalty): (f32, f32), similarity: f32, below: f32) {
        let contradicts = similarity < below;
        self.evidence += weight * similarity;
        self.total_weight += weight;
        if contradicts {
            self.penalty += penalty;
        }
        self.verdicts.push(FieldVerdict { field, similarity, contradicts });
    }

    fn add_hit(&mut self, field: &'static str, weights: (f32, f32), similarity: f32) {
        self.add(field, weights, similarity, 0.5);
    }

    fn add_fuzzy(&mut self, field: &'static str, weights: (f32, f32), similarity: Option<f32>) {
        let below = self.thresholds.contradiction_below;
        self.add(field, weights, similarity.unwrap_or(0.0), below);
    }
}

fn one_if(hit: Option<bool>) -> f32 {
    if hit == Some(true) { 1.0 } else { 0.0 }
}

/// Scores one candidate against the plan.
pub fn score(plan: &FieldsPlan, features: &Features, thresholds: FieldsThresholds) -> Scored {
    let mut tally =
        Tally { evidence: 0.0, penalty: 0.0, total_weight: 0.0, verdicts: Vec::new(), thresholds };
    if !plan.contract_ids.is_empty() {
        tally.add_hit("contractId", weight::CONTRACT_ID, if features.contract_hit { 1.0 } else { 0.0 });
    }
    if !plan.customer_ids.is_empty() {
        tally.add_hit("customerId", weight::CUSTOMER_ID, if features.customer_hit { 1.0 } else { 0.0 });
    }
    if plan.email.is_some() {
        let similarity = if features.email_hit == Some(true) {
            1.0
        } else if features.email_local_hit == Some(true) {
            0.5
        } else {
            0.0
        };
        tally.add_hit("email", weight::EMAIL, similarity);
    }
    if plan.phone.is_some() {
        let similarity = if features.phone_hit == Some(true) {
            1.0
        } else if features.phone_tail_hit {
            0.8
        } else {
            0.0
        };
        tally.add_hit("phone", weight::PHONE, similarity);
    }
    if let Some(meter) = &plan.meter {
        let similarity = if features.meter_hit == Some(true) {
            1.0
        } else if meter.len() >= MIN_SUFFIX_CHARS && features.meter_suffix_hit == Some(true) {
            0.9
        } else {
            0.0
        };
        tally.add_hit("meterNumber", weight::METER, similarity);
    }
    // Names, also swapped (extraction mixes up first and last name).
    let straight = (features.last_sim, features.first_sim);
    let swapped = (features.last_swapped_sim, features.first_swapped_sim);
    let total = |(last, first): (Option<f32>, Option<f32>)| {
        last.unwrap_or(0.0) * weight::LASTNAME.0 + first.unwrap_or(0.0) * weight::FIRSTNAME.0
    };
    let (last, first) = if total(swapped) > total(straight) { swapped } else { straight };
    if plan.lastname.is_some() {
        tally.add_fuzzy(
            "lastname",
            weight::LASTNAME,
            if plan.firstname.is_some() { last } else { straight.0 },
        );
    }
    if plan.firstname.is_some() {
        tally.add_fuzzy(
            "firstname",
            weight::FIRSTNAME,
            if plan.lastname.is_some() { first } else { straight.1 },
        );
    }
    if plan.company.is_some() {
        let below = thresholds.company_contradiction_below;
        tally.add("company", weight::COMPANY, features.company_sim.unwrap_or(0.0), below);
    }
    if plan.street.is_some() {
        tally.add_fuzzy("address", weight::STREET, features.street_sim);
        // A house number only means something on the right street.
        if plan.house_number.is_some() && features.street_sim.unwrap_or(0.0) >= thresholds.contradiction_below
        {
            tally.add_hit("houseNumber", weight::HOUSE_NUMBER, one_if(features.house_number_hit));
        }
    }
    if plan.postcode.is_some() {
        tally.add_hit("postalCode", weight::POSTCODE, one_if(features.zip_hit));
    }
    if plan.city.is_some() {
        tally.add_fuzzy("city", weight::CITY, features.city_sim);
    }
    Scored {
        contract_id: features.contract_id.clone(),
        customer_id: features.customer_id.clone(),
        score: tally.evidence - tally.penalty,
        similarity: if tally.total_weight > 0.0 { tally.evidence / tally.total_weight } else { 0.0 },
        fields: tally.verdicts,
        status_rank: features.status_rank,
        start_date: features.start_date,
    }
}

/// The decision and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The one confident match, or `None`.
    pub matched: Option<FieldsMatch>,
    /// Why.
    pub reason: &'static str,
    /// The best candidates, best first (at most ten).
    pub candidates: Vec<Scored>,
}

/// Scores the candidates and decides: one confident match or none.
pub fn decide(plan: &FieldsPlan, candidates: &[Features], thresholds: FieldsThresholds) -> Decision {
    let mut scored: Vec<Scored> =
        candidates.iter().map(|features| score(plan, features, thresholds)).collect();
    scored.sort_by(|left, right| right.score.total_cmp(&left.score).then_with(|| left.primary_order(right)));
    let none = |reason, scored: Vec<Scored>| Decision {
        matched: None,
        reason,
        candidates: scored.into_iter().take(10).collect(),
    };
    let Some(best) = scored.first() else {
        return none("no candidate", scored);
    };
    let reason = if best.score < thresholds.min_score {
        Some("best candidate below the score threshold")
    } else if best.similarity < thresholds.min_similarity {
        Some("best candidate below the similarity threshold")
    } else if best.is_disqualified() {
        Some("an identifier or the name of the best candidate contradicts the input")
    } else if !best.has_identifying_evidence() {
        Some("nothing identifying matched")
    } else if scored
        .iter()
        .find(|other| other.customer_id != best.customer_id)
        .is_some_and(|runner_up| best.score - runner_up.score < thresholds.min_margin)
    {
        Some("another customer fits almost as well")
    } else {
        None
    };
    if let Some(reason) = reason {
        return none(reason, scored);
    }
    let matched = FieldsMatch {
        contract_id: best.contract_id.clone(),
        customer_id: best.customer_id.clone(),
        customer_legitimation: None,
        customer_legitimation_message: None,
    };
    Decision {
        matched: Some(matched),
        reason: "confident match",
        candidates: scored.into_iter().take(10).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> FieldsPlan {
        FieldsPlan::from_query(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn plan_normalises_and_folds() {
        let plan = plan(
            r#"{"ticketId": 1, "contractId": "VN-0012345", "email": "A.B@Web.DE", "phone": "0171/1234567",
                "firstname": "Jürgen", "lastname": "Müller", "address": "Hauptstraße 5 a, 01067 Dresden",
                "meterNumber": "1 esy 11 60669167", "vertragskonto": "x"}"#,
        );
        assert_eq!(plan.contract_ids, ["VN-0012345", "12345"]);
        assert_eq!(plan.email.as_deref(), Some("a.b@web.de"));
        assert_eq!(plan.phone.as_deref(), Some("+491711234567"));
        assert_eq!(plan.meter.as_deref(), Some("1ESY1160669167"));
        assert_eq!(plan.full_name().as_deref(), Some("jurgen muller"));
        assert_eq!(plan.street.as_deref(), Some("hauptstr"));
        assert_eq!(plan.house_number.as_deref(), Some("5a"));
        assert_eq!((plan.postcode.as_deref(), plan.city.as_deref()), (Some("01067"), Some("dresden")));
        assert_eq!(plan.params().len(), PARAM_TYPES.len());
        assert_eq!(
            plan.meter_suffix_range(),
            Some(("7619660611YSE1".to_owned(), "7619660611YSE1~".to_owned()))
        );
    }

    #[test]
    fn statement_has_a_branch_per_field_given() {
        let with_id = plan(r#"{"contractId": "30000001", "lastname": "Roseneder"}"#).sql();
        assert!(with_id.contains("WHERE contract_key = ANY($1)"), "{with_id}");
        // An identifier without a street: no name scan.
        assert!(!with_id.contains("full_name % $9"), "{with_id}");
        let by_name = plan(r#"{"lastname": "Roseneder", "firstname": "Fatma", "postalCode": "10115"}"#).sql();
        assert!(by_name.contains("full_name % $9 AND zip = $13"), "{by_name}");
        assert!(!by_name.contains("WHERE contract_key"), "{by_name}");
        let only_town = plan(r#"{"city": "Berlin"}"#);
        assert!(!only_town.is_empty());
        assert!(only_town.sql().contains("WHERE false"));
        assert!(plan(r#"{"ticketId": "T-1", "email": "not an email"}"#).is_empty());
    }

    fn candidate(id: &str, customer: &str) -> Features {
        Features {
            contract_id: id.into(),
            customer_id: customer.into(),
            last_sim: Some(1.0),
            first_sim: Some(1.0),
            last_swapped_sim: Some(0.0),
            first_swapped_sim: Some(0.0),
            street_sim: Some(1.0),
            house_number_hit: Some(true),
            zip_hit: Some(true),
            ..Features::default()
        }
    }

    #[test]
    fn one_customer_matches_and_namesakes_elsewhere_do_not_compete() {
        let plan = plan(
            r#"{"lastname": "Roseneder", "firstname": "Fatma", "address": "Friedrich-Ebert-Str. 45", "postalCode": "10115"}"#,
        );
        let right = candidate("1", "10");
        let same_customer = Features { status_rank: 3, ..candidate("2", "10") };
        let elsewhere = Features { street_sim: Some(0.1), zip_hit: Some(false), ..candidate("3", "11") };
        let decision = decide(&plan, &[same_customer, elsewhere, right], FieldsThresholds::default());
        assert_eq!(decision.reason, "confident match");
        assert_eq!(decision.matched.unwrap().contract_id, "1", "the active contract is the primary one");
    }

    #[test]
    fn two_customers_alike_or_a_wrong_surname_give_no_match() {
        let plan = plan(
            r#"{"lastname": "Roseneder", "firstname": "Fatma", "address": "Friedrich-Ebert-Str. 45", "postalCode": "10115"}"#,
        );
        let thresholds = FieldsThresholds::default();
        let decision = decide(&plan, &[candidate("1", "10"), candidate("2", "11")], thresholds);
        assert_eq!((decision.matched, decision.reason), (None, "another customer fits almost as well"));
        let plan_with_id = FieldsPlan { contract_ids: vec!["1".into()], ..plan };
        let wrong_name = Features { contract_hit: true, last_sim: Some(0.1), ..candidate("1", "10") };
        let decision = decide(&plan_with_id, &[wrong_name], thresholds);
        assert!(decision.matched.is_none());
        assert!(decide(&plan_with_id, &[], thresholds).matched.is_none());
    }
}
