//! Tolerant readers for the fields of a raw Powercloud record (`serde_json::Value`).
//!
//! Real ERP payloads are not strict: ids and postcodes come as numbers or strings, amounts as
//! `53`, `"53"` or `"53,00"`, flags as `true`, `1` or `"1"`, dates as `2024-01-31`,
//! `2024-01-31 00:00:00`, `31.01.2024` or PHP's `0000-00-00` for "none". These readers accept all
//! of that and answer `None` for what is missing, blank or unusable, so that one odd field never
//! costs a whole record. Which field feeds which enneo field is decided in
//! [`mapping`](super::mapping), not here.

use serde_json::{Map, Value};

/// The fields of one raw record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a>(pub(crate) &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// The raw value of `key`, unless absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|value| !value.is_null())
    }

    /// `key` as trimmed, non-blank text; numbers are written out (`10115` → `"10115"`).
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(text_of)
    }

    /// The first of `keys` that holds text.
    pub(crate) fn first_text(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| self.text(key))
    }

    /// `key` as a yes/no flag: `true`/`false`, `1`/`0`, `"true"`, `"1"`, `"yes"`, `"ja"`, ....
    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) => number.as_f64().map(|number| number != 0.0),
            Value::String(text) => match text.trim().to_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "ja" | "j" => Some(true),
                "false" | "0" | "no" | "n" | "nein" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The first of `keys` holding a number: JSON numbers, or text in English or German
    /// notation (`"53.5"`, `"53,50"`, `"1.234,50"`).
    pub(crate) fn first_number(&self, keys: &[&str]) -> Option<f64> {
        keys.iter().find_map(|key| match self.get(key)? {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => parse_decimal(text),
            _ => None,
        })
    }

    /// The first of `keys` holding a non-negative number, rounded to a whole one.
    pub(crate) fn first_count(&self, keys: &[&str]) -> Option<u64> {
        let number = self.first_number(keys)?;
        (number.is_finite() && number >= 0.0 && number < u64::MAX as f64).then(|| number.round() as u64)
    }

    /// The first of `keys` holding a date, as Unix seconds (midnight UTC of that day). Numbers are
    /// taken as Unix seconds already.
    pub(crate) fn first_date(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|key| match self.get(key)? {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => date_to_unix_seconds(text),
            _ => None,
        })
    }
}

/// A scalar as trimmed, non-blank text.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim()).filter(|text| !text.is_empty()).map(str::to_owned),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn parse_decimal(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches('€').trim_end();
    let normalised = match (text.contains('.'), text.contains(',')) {
        // "1.234,50": dots group thousands, the comma is the decimal separator.
        (true, true) => text.replace('.', "").replace(',', "."),
        (false, true) => text.replace(',', "."),
        _ => text.to_owned(),
    };
    normalised.parse().ok().filter(|number: &f64| number.is_finite())
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` (a time part after it is ignored) or `DD.MM.YYYY` as Unix seconds at midnight
/// UTC; `None` for anything else, including impossible dates and `0000-00-00`.
pub(crate) fn date_to_unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let (year, month, day) = if let Some(date) = text.get(..10).filter(|date| date.as_bytes()[4] == b'-') {
        let mut parts = date.split('-');
        (parts.next()?, parts.next()?, parts.next()?)
    } else {
        let date = text.get(..10).filter(|date| date.as_bytes()[2] == b'.')?;
        let mut parts = date.split('.');
        let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
        (year, month, day)
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !(all_digits(year) && all_digits(month) && all_digits(day)) {
        return None;
    }
    let (year, month, day): (i64, u32, u32) = (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECONDS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with<T>(value: Value, read: impl FnOnce(Fields<'_>) -> T) -> T {
        read(Fields(value.as_object().unwrap()))
    }

    #[test]
    fn text_is_trimmed_and_numbers_are_written_out() {
        let record = json!({"a": "  Weber ", "b": "   ", "c": 10115, "d": null, "e": true});
        with(record, |fields| {
            assert_eq!(fields.text("a").as_deref(), Some("Weber"));
            assert_eq!(fields.text("b"), None);
            assert_eq!(fields.text("c").as_deref(), Some("10115"));
            assert_eq!(fields.text("d"), None);
            assert_eq!(fields.text("e"), None);
            assert_eq!(fields.first_text(&["b", "d", "a"]).as_deref(), Some("Weber"));
        });
    }

    #[test]
    fn flags_in_every_spelling() {
        let record = json!({"a": true, "b": 0, "c": "1", "d": "Ja", "e": "maybe", "f": "false"});
        with(record, |fields| {
            let flags: Vec<Option<bool>> =
                ["a", "b", "c", "d", "e", "f", "g"].iter().map(|key| fields.flag(key)).collect();
            assert_eq!(flags, [Some(true), Some(false), Some(true), Some(true), None, Some(false), None]);
        });
    }

    #[test]
    fn numbers_in_english_and_german_notation() {
        let record =
            json!({"a": 53, "b": "53,50", "c": "1.234,50", "d": "39 €", "e": "n/a", "f": 3477.4, "g": -5});
        with(record, |fields| {
            assert_eq!(fields.first_number(&["a"]), Some(53.0));
            assert_eq!(fields.first_number(&["b"]), Some(53.5));
            assert_eq!(fields.first_number(&["c"]), Some(1234.5));
            assert_eq!(fields.first_number(&["d"]), Some(39.0));
            assert_eq!(fields.first_number(&["e", "a"]), Some(53.0));
            assert_eq!(fields.first_count(&["f"]), Some(3477));
            assert_eq!(fields.first_count(&["g"]), None);
        });
    }

    #[test]
    fn dates_to_unix_seconds() {
        assert_eq!(date_to_unix_seconds("1970-01-01"), Some(0));
        assert_eq!(date_to_unix_seconds("2022-09-01"), Some(1_661_990_400));
        assert_eq!(date_to_unix_seconds("2022-09-01 12:30:00"), Some(1_661_990_400));
        assert_eq!(date_to_unix_seconds("2022-09-01T00:00:00+02:00"), Some(1_661_990_400));
        assert_eq!(date_to_unix_seconds("01.09.2022"), Some(1_661_990_400));
        assert_eq!(date_to_unix_seconds("2024-02-29"), Some(1_709_164_800));
        assert_eq!(date_to_unix_seconds("1965-03-14"), Some(-151_545_600));
        for invalid in
            ["0000-00-00", "2023-02-29", "2022-13-01", "2022-9-1", "tomorrow", "", "2022-0a-01", "1.9.2022"]
        {
            assert_eq!(date_to_unix_seconds(invalid), None, "{invalid}");
        }
        with(json!({"a": "", "b": 1_661_990_400, "c": "2022-09-01"}), |fields| {
            assert_eq!(fields.first_date(&["a", "b"]), Some(1_661_990_400));
            assert_eq!(fields.first_date(&["a", "c"]), Some(1_661_990_400));
        });
    }
}
