//! Search quality over HTTP: the generator's labelled queries sent to a server's fields and
//! free-text routes, judged as `contract-search eval` judges them (fields: right customer and
//! one of the expected contracts, wrong, or no match; absent and ambiguous people must get no
//! match; free text: the expected customer first, or within the first ten).
//!
//! It speaks only HTTP, so the same run measures contract-search (with its API key) and the
//! PostgreSQL peer alike.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use contract_search_sim::queries::{Category, Expected, LabelledQuery, QueryKind};
use serde::Serialize;
use serde_json::{Value, json};

/// Counts of one category.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CategoryCounts {
    /// Queries run.
    pub total: u64,
    /// Fields search: the expected customer and one of its expected contracts (or, when no
    /// match is right, no match).
    pub correct: u64,
    /// Fields search: a match, but another customer (or, when none was expected, any match).
    pub wrong: u64,
    /// Fields search: no match although one was expected.
    pub no_match: u64,
    /// Free text: the expected customer first.
    pub rank1: u64,
    /// Free text: the expected customer within the first 10.
    pub top10: u64,
}

/// Summary rates (fractions in [0, 1]).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EvalSummary {
    /// Findable fields queries answered with the right customer.
    pub fields_correct: f64,
    /// Findable fields queries answered with a wrong customer.
    pub fields_wrong: f64,
    /// Absent-person queries answered with anyone.
    pub absent_false_match: f64,
    /// Ambiguous (and conflicting) queries answered with anyone.
    pub ambiguous_answered: f64,
    /// Free text: right customer first.
    pub text_rank1: f64,
    /// Free text: right customer in the first 10.
    pub text_top10: f64,
    /// Mean client-side latency of a fields call, in milliseconds (sequential calls).
    pub fields_mean_ms: f64,
    /// Mean client-side latency of a free-text call, in milliseconds (sequential calls).
    pub text_mean_ms: f64,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// Per category.
    pub categories: BTreeMap<Category, CategoryCounts>,
    /// The queries answered wrongly or not at all, with the answers.
    #[serde(skip)]
    pub failures: Vec<Value>,
    fields_secs: f64,
    num_fields: u64,
    text_secs: f64,
    num_text: u64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { f64::NAN } else { part as f64 / whole as f64 }
}

fn is_absent(category: Category) -> bool {
    matches!(category, Category::FieldsAbsentRandom | Category::FieldsAbsentNearMiss)
}

fn is_ambiguous(category: Category) -> bool {
    matches!(
        category,
        Category::FieldsAmbiguousNamesake
            | Category::FieldsAmbiguousSharedEmail
            | Category::FieldsConflicting
    )
}

/// The verdict on one fields answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsVerdict {
    /// Right customer and contract, or rightly no match.
    Correct,
    /// Someone, but not the expected one (or anyone when no one was expected).
    Wrong,
    /// No match although one was expected.
    NoMatch,
}

/// Judges a fields answer (`{}` or `{"contractId","customerId"}`) against the label.
pub fn judge_fields(answer: &Value, expected: Option<&Expected>) -> FieldsVerdict {
    let found = answer
        .get("contractId")
        .and_then(Value::as_str)
        .zip(answer.get("customerId").and_then(Value::as_str));
    match (found, expected) {
        (None, Some(_)) => FieldsVerdict::NoMatch,
        (None, None) => FieldsVerdict::Correct,
        (Some(_), None) => FieldsVerdict::Wrong,
        (Some((contract_id, customer_id)), Some(expected)) => {
            if customer_id == expected.customer_id && expected.contract_ids.iter().any(|id| id == contract_id)
            {
                FieldsVerdict::Correct
            } else {
                FieldsVerdict::Wrong
            }
        }
    }
}

/// The 0-based rank of the expected customer in a free-text answer (`[{"id"}, ...]`).
pub fn rank_of(answer: &Value, customer_id: &str) -> Option<usize> {
    answer
        .as_array()?
        .iter()
        .position(|customer| customer.get("id").and_then(Value::as_str) == Some(customer_id))
}

impl EvalReport {
    /// Counts one answered query.
    pub fn record(&mut self, query: &LabelledQuery, answer: &Value) {
        let counts = self.categories.entry(query.category).or_default();
        counts.total += 1;
        match query.kind {
            QueryKind::Fields => {
                let verdict = judge_fields(answer, query.expected.as_ref());
                match verdict {
                    FieldsVerdict::Correct => counts.correct += 1,
                    FieldsVerdict::Wrong => counts.wrong += 1,
                    FieldsVerdict::NoMatch => counts.no_match += 1,
                }
                if verdict != FieldsVerdict::Correct {
                    self.failures.push(json!({ "query": query, "answer": answer }));
                }
            }
            QueryKind::FreeText => {
                if let Some(expected) = &query.expected {
                    let rank = rank_of(answer, &expected.customer_id);
                    if rank == Some(0) {
                        counts.rank1 += 1;
                    }
                    if rank.is_some_and(|rank| rank < 10) {
                        counts.top10 += 1;
                    }
                    if rank != Some(0) {
                        self.failures.push(json!({ "query": query, "rank": rank, "answer": answer }));
                    }
                }
            }
        }
    }

    /// Rates over the categories.
    pub fn summary(&self) -> EvalSummary {
        let sum = |filter: &dyn Fn(Category) -> bool| {
            self.categories.iter().filter(|(category, _)| filter(**category)).fold(
                CategoryCounts::default(),
                |mut total, (_, counts)| {
                    total.total += counts.total;
                    total.correct += counts.correct;
                    total.wrong += counts.wrong;
                    total.no_match += counts.no_match;
                    total.rank1 += counts.rank1;
                    total.top10 += counts.top10;
                    total
                },
            )
        };
        let findable = sum(&|category| {
            category.kind() == QueryKind::Fields && !is_absent(category) && !is_ambiguous(category)
        });
        let absent = sum(&is_absent);
        let ambiguous = sum(&is_ambiguous);
        let text = sum(&|category| category.kind() == QueryKind::FreeText);
        let mean_ms =
            |secs: f64, count: u64| if count == 0 { f64::NAN } else { secs * 1000.0 / count as f64 };
        EvalSummary {
            fields_correct: ratio(findable.correct, findable.total),
            fields_wrong: ratio(findable.wrong, findable.total),
            absent_false_match: ratio(absent.wrong, absent.total),
            ambiguous_answered: ratio(ambiguous.wrong, ambiguous.total),
            text_rank1: ratio(text.rank1, text.total),
            text_top10: ratio(text.top10, text.total),
            fields_mean_ms: mean_ms(self.fields_secs, self.num_fields),
            text_mean_ms: mean_ms(self.text_secs, self.num_text),
        }
    }

    /// A markdown table per category and the summary (the layout of `contract-search eval`).
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| category | queries | correct | wrong | no match | rank 1 | top 10 |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (category, counts) in &self.categories {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                category.as_str(),
                counts.total,
                counts.correct,
                counts.wrong,
                counts.no_match,
                counts.rank1,
                counts.top10
            );
        }
        let summary = self.summary();
        let percent = |value: f64| format!("{:.2}%", value * 100.0);
        let _ = write!(
            out,
            "\nfields: correct {} and wrong {} of findable; absent people falsely matched {}; ambiguous or \
             conflicting answered {}\nfree text: right customer at rank 1 {}, in the first 10 {}\n\
             mean latency (sequential, client side): fields {:.2} ms, free text {:.2} ms\n",
            percent(summary.fields_correct),
            percent(summary.fields_wrong),
            percent(summary.absent_false_match),
            percent(summary.ambiguous_answered),
            percent(summary.text_rank1),
            percent(summary.text_top10),
            summary.fields_mean_ms,
            summary.text_mean_ms,
        );
        out
    }
}

/// Reads labelled queries (NDJSON from `contract-search generate`).
pub fn read_queries(path: &Path) -> anyhow::Result<Vec<LabelledQuery>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), index + 1))
        })
        .collect()
}

/// Sends every query to the server at `base_url` (one at a time) and judges the answers.
/// `api_key` goes into `Authorization: Bearer` (contract-search needs it; the peer ignores it).
pub async fn evaluate_http(
    base_url: &str,
    api_key: Option<&str>,
    queries: &[LabelledQuery],
) -> anyhow::Result<EvalReport> {
    let client = reqwest::Client::new();
    let base_url = base_url.trim_end_matches('/');
    let mut report = EvalReport::default();
    for query in queries {
        let route = match query.kind {
            QueryKind::Fields => "/v1/search/fields",
            QueryKind::FreeText => "/v1/search",
        };
        let mut request = client.post(format!("{base_url}{route}")).json(&query.input);
        if let Some(key) = api_key {
            request = request.bearer_auth(key);
        }
        let started = Instant::now();
        let response = request.send().await.with_context(|| format!("sending query {}", query.id))?;
        let status = response.status();
        let answer: Value =
            response.json().await.with_context(|| format!("reading the answer to query {}", query.id))?;
        let secs = started.elapsed().as_secs_f64();
        anyhow::ensure!(status.is_success(), "query {} answered {status}: {answer}", query.id);
        match query.kind {
            QueryKind::Fields => {
                report.fields_secs += secs;
                report.num_fields += 1;
            }
            QueryKind::FreeText => {
                report.text_secs += secs;
                report.num_text += 1;
            }
        }
        report.record(query, &answer);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Expected {
        Expected { customer_id: "10".into(), contract_ids: vec!["1".into(), "2".into()] }
    }

    #[test]
    fn fields_answers_are_judged_like_contract_search_eval() {
        let right = json!({"contractId": "2", "customerId": "10"});
        let other_contract = json!({"contractId": "3", "customerId": "10"});
        assert_eq!(judge_fields(&right, Some(&expected())), FieldsVerdict::Correct);
        assert_eq!(judge_fields(&other_contract, Some(&expected())), FieldsVerdict::Wrong);
        assert_eq!(judge_fields(&json!({}), Some(&expected())), FieldsVerdict::NoMatch);
        assert_eq!(judge_fields(&json!({}), None), FieldsVerdict::Correct);
        assert_eq!(judge_fields(&right, None), FieldsVerdict::Wrong);
    }

    #[test]
    fn free_text_rank() {
        let answer = json!([{"id": "7"}, {"id": "10"}]);
        assert_eq!(rank_of(&answer, "10"), Some(1));
        assert_eq!(rank_of(&answer, "11"), None);
        assert_eq!(rank_of(&json!({"error": {}}), "10"), None);
    }
}
