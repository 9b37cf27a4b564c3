//! Free text on PostgreSQL: what an agent types → customers, best first.
//!
//! The text is analysed by contract-search's own analysis
//! (`contract_search_query::free_text::analyse`: emails, IBANs, phones, meter numbers, ids,
//! digit runs, postcodes, house numbers and folded words), so both products start from the same
//! reading of the text. Then:
//!
//! 1. **Identifiers**: exact B-tree look-ups (email, IBAN, phone array, meter number, contract
//!    and customer id variants) and the last digits of a meter number (a range on the reversed
//!    key). Their customers rank first.
//! 2. **Words**: every word must match the folded name, company, street and town text of a
//!    contract by trigram word similarity (`search_text %> word`, served by the GIN trigram
//!    index, each word a condition, so the planner intersects the index bitmaps), which also
//!    tolerates typos and an unfinished last word. Contracts rank by the sum of the words'
//!    `word_similarity`, plus a bonus for a matching postcode or house number; customers by
//!    their best contract. If that finds fewer customers than asked for, a second statement lets
//!    one word of several miss.

use std::collections::HashSet;
use std::fmt::Write as _;

use contract_search_model::normalize::id_variants;
use contract_search_query::free_text::{Analysis, MIN_SUFFIX_CHARS, analyse};
use tokio_postgres::types::{ToSql, Type};

/// Most words used (the rest of a long text adds cost, not precision).
pub const MAX_WORDS: usize = 6;

/// What to look up for one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FreeTextPlan {
    emails: Vec<String>,
    ibans: Vec<String>,
    phones: Vec<String>,
    meters: Vec<String>,
    ids: Vec<String>,
    /// The reversed last characters of a meter number: (low, high) of the range.
    suffix: Option<(String, String)>,
    /// Folded words (street-folded where that differs: `hauptstrasse` → `hauptstr`).
    words: Vec<String>,
    postcodes: Vec<String>,
    house_numbers: Vec<String>,
}

impl FreeTextPlan {
    /// The plan of `text`.
    pub fn from_text(text: &str) -> FreeTextPlan {
        FreeTextPlan::from_analysis(&analyse(text))
    }

    fn from_analysis(analysis: &Analysis) -> FreeTextPlan {
        let mut ids: Vec<String> = analysis.ids.iter().flat_map(|id| id_variants(id)).collect();
        ids.sort();
        ids.dedup();
        let suffix = analysis.suffixes.iter().find(|suffix| suffix.len() >= MIN_SUFFIX_CHARS).map(|suffix| {
            let low: String = suffix.to_uppercase().chars().rev().collect();
            // Keys are uppercase letters and digits: `~` sorts after all of them (collation "C").
            let high = format!("{low}~");
            (low, high)
        });
        let words = analysis
            .words
            .iter()
            .zip(&analysis.street_words)
            .map(|(word, street_word)| if street_word.is_empty() { word } else { street_word }.clone())
            .take(MAX_WORDS)
            .collect();
        FreeTextPlan {
            emails: analysis.emails.clone(),
            ibans: analysis.ibans.clone(),
            phones: analysis.phones.clone(),
            meters: analysis.meters.clone(),
            ids,
            suffix,
            words,
            postcodes: analysis.postcodes.clone(),
            house_numbers: analysis.house_numbers.iter().map(|number| number.to_lowercase()).collect(),
        }
    }

    /// The identifier statement (customer ids, exact hits before suffix hits), or `None` when
    /// the text holds no identifier. Parameters: [`FreeTextPlan::identifier_params`].
    pub fn identifier_sql(&self) -> Option<String> {
        let mut branches = Vec::new();
        let mut branch = |condition: &str, rank: u8| {
            branches.push(format!(
                "(SELECT customer_id, {rank} AS rank FROM contracts WHERE {condition} LIMIT 200)"
            ));
        };
        if !self.emails.is_empty() {
            branch("email = ANY($1)", 0);
        }
        if !self.ibans.is_empty() {
            branch("iban = ANY($2)", 0);
        }
        if !self.phones.is_empty() {
            branch("phones && $3", 0);
        }
        if !self.meters.is_empty() {
            branch("meter = ANY($4)", 0);
        }
        if !self.ids.is_empty() {
            branch("contract_key = ANY($5) OR contract_num = ANY($5)", 0);
            branch("customer_key = ANY($5) OR customer_num = ANY($5)", 0);
        }
        if self.suffix.is_some() {
            branch("meter IS NOT NULL AND reverse(meter) >= $6 AND reverse(meter) < $7", 1);
        }
        (!branches.is_empty()).then(|| {
            format!(
                "SELECT customer_id FROM ({}) AS hits GROUP BY customer_id ORDER BY min(rank), customer_id LIMIT $8",
                branches.join(" UNION ALL ")
            )
        })
    }

    /// The parameters of [`FreeTextPlan::identifier_sql`], with types
    /// [`IDENTIFIER_PARAM_TYPES`].
    pub fn identifier_params(&self, limit: i64) -> Vec<Box<dyn ToSql + Sync + Send>> {
        let (low, high) = self.suffix.clone().unzip();
        vec![
            Box::new(self.emails.clone()),
            Box::new(self.ibans.clone()),
            Box::new(self.phones.clone()),
            Box::new(self.meters.clone()),
            Box::new(self.ids.clone()),
            Box::new(low),
            Box::new(high),
            Box::new(limit),
        ]
    }

    /// The words statement: all words must match (`allowed_misses = 0`), or all but one
    /// (any other value);
    /// `None` without words. Parameters: [`FreeTextPlan::words_params`].
    pub fn words_sql(&self, allowed_misses: usize) -> Option<String> {
        let num_words = self.words.len();
        if num_words == 0 {
            return None;
        }
        let condition = |index: usize| format!("search_text %> ${}", index + 1);
        let (zips, house_numbers, limit) = (num_words + 1, num_words + 2, num_words + 3);
        let mut score = String::new();
        for index in 0..num_words {
            let _ = write!(score, "word_similarity(${}, search_text) + ", index + 1);
        }
        let _ = write!(
            score,
            "CASE WHEN zip = ANY(${zips}) THEN 1.0 ELSE 0.0 END + \
             CASE WHEN house_number = ANY(${house_numbers}) THEN 0.5 ELSE 0.0 END"
        );
        let filter = if allowed_misses == 0 || num_words < 2 {
            (0..num_words).map(condition).collect::<Vec<_>>().join(" AND ")
        } else {
            // All words but one, as an OR of conjunctions: each arm is an intersection of index
            // bitmaps, where "any word, then count" would scan every contract in a big town.
            (0..num_words)
                .map(|skipped| {
                    let required = (0..num_words).filter(|index| *index != skipped).map(condition);
                    format!("({})", required.collect::<Vec<_>>().join(" AND "))
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        Some(format!(
            "SELECT customer_id, max(score) AS score FROM \
             (SELECT customer_id, {score} AS score FROM contracts WHERE {filter}) AS hits \
             GROUP BY customer_id ORDER BY max(score) DESC, customer_id LIMIT ${limit}"
        ))
    }

    /// The parameters of [`FreeTextPlan::words_sql`] and their types.
    pub fn words_params(&self, limit: i64) -> (Vec<Box<dyn ToSql + Sync + Send>>, Vec<Type>) {
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut types = Vec::new();
        for word in &self.words {
            params.push(Box::new(word.clone()));
            types.push(Type::TEXT);
        }
        params.push(Box::new(self.postcodes.clone()));
        params.push(Box::new(self.house_numbers.clone()));
        params.push(Box::new(limit));
        types.extend([Type::TEXT_ARRAY, Type::TEXT_ARRAY, Type::INT8]);
        (params, types)
    }

    /// Whether the relaxed pass (one word may miss) applies.
    pub fn may_relax(&self) -> bool {
        self.words.len() >= 2
    }
}

/// The types of [`FreeTextPlan::identifier_params`].
pub const IDENTIFIER_PARAM_TYPES: &[Type] = &[
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
];

/// Appends `customers` to `order` without repeating any.
pub fn merge_customers(order: &mut Vec<String>, seen: &mut HashSet<String>, customers: Vec<String>) {
    for customer in customers {
        if seen.insert(customer.clone()) {
            order.push(customer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_become_key_look_ups() {
        let plan = FreeTextPlan::from_text("VN-0012345");
        assert_eq!(plan.ids, ["12345", "VN-0012345"]);
        let sql = plan.identifier_sql().unwrap();
        assert!(sql.contains("contract_key = ANY($5)") && sql.contains("customer_key = ANY($5)"), "{sql}");
        assert!(plan.words_sql(0).is_none());
        let plan = FreeTextPlan::from_text("60669167");
        assert_eq!(plan.suffix, Some(("76196606".to_owned(), "76196606~".to_owned())));
        let plan = FreeTextPlan::from_text("thomas.mueller@web.de");
        assert_eq!(plan.emails, ["thomas.mueller@web.de"]);
        assert!(plan.identifier_sql().unwrap().contains("email = ANY($1)"));
        assert_eq!(plan.identifier_params(10).len(), IDENTIFIER_PARAM_TYPES.len());
    }

    #[test]
    fn words_must_all_match_or_all_but_one() {
        let plan = FreeTextPlan::from_text("Müller Hauptstraße 5a 01067 Dres");
        assert_eq!(plan.words, ["muller", "hauptstr", "dres"]);
        assert_eq!(
            (plan.postcodes.as_slice(), plan.house_numbers.as_slice()),
            (&["01067".to_owned()][..], &["5a".to_owned()][..])
        );
        let strict = plan.words_sql(0).unwrap();
        assert!(strict.contains("search_text %> $1 AND search_text %> $2 AND search_text %> $3"), "{strict}");
        assert!(strict.contains("zip = ANY($4)") && strict.contains("LIMIT $6"), "{strict}");
        let relaxed = plan.words_sql(1).unwrap();
        assert!(relaxed.contains("(search_text %> $1 AND search_text %> $3) OR"), "{relaxed}");
        let (params, types) = plan.words_params(10);
        assert_eq!((params.len(), types.len()), (6, 6));
        assert!(plan.may_relax());
    }

    #[test]
    fn customers_are_merged_without_repeats() {
        let (mut order, mut seen) = (Vec::new(), HashSet::new());
        merge_customers(&mut order, &mut seen, vec!["1".into(), "2".into()]);
        merge_customers(&mut order, &mut seen, vec!["2".into(), "3".into()]);
        assert_eq!(order, ["1", "2", "3"]);
    }
}
