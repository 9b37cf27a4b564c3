//! serde helpers for enneo's loose typing: ids and phone numbers may arrive as strings or as
//! integers, and optional values as `null`.

use serde::{Deserialize, Deserializer};

/// A JSON scalar that enneo may send where it means a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            StringOrNumber::String(text) => text,
            StringOrNumber::Unsigned(number) => number.to_string(),
            StringOrNumber::Signed(number) => number.to_string(),
            StringOrNumber::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
                format!("{number:.0}")
            }
            StringOrNumber::Float(number) => number.to_string(),
            StringOrNumber::Bool(flag) => flag.to_string(),
        }
    }
}

/// Deserialises a required string that may be sent as a number.
pub(crate) fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    StringOrNumber::deserialize(deserializer).map(StringOrNumber::into_string)
}

/// Deserialises a string that may be sent as a number, or `null` (read as empty).
pub(crate) fn opt_string_or_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(opt_string(deserializer)?.unwrap_or_default())
}

/// Deserialises an optional string that may be sent as a number or `null`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<StringOrNumber>::deserialize(deserializer)?.map(StringOrNumber::into_string))
}

/// Deserialises a count that may be sent as a number, a numeric string or `null` (then 0, so
/// callers apply their default through `Option`).
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    use serde::de::Error;
    match Option::<StringOrNumber>::deserialize(deserializer)? {
        None => Ok(None),
        Some(StringOrNumber::Unsigned(number)) => Ok(Some(number as usize)),
        Some(StringOrNumber::String(text)) if text.trim().is_empty() => Ok(None),
        Some(StringOrNumber::String(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expected a whole non-negative number")),
        Some(StringOrNumber::Float(number)) if number >= 0.0 && number.fract() == 0.0 => {
            Ok(Some(number as usize))
        }
        Some(_) => Err(D::Error::custom("expected a whole non-negative number")),
    }
}

/// Writes a number without a fraction as an integer (`53`, not `53.0`), as enneo's examples do.
pub(crate) fn whole_number<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(number) if number.fract() == 0.0 && number.abs() < 9e15 => {
            serializer.serialize_i64(*number as i64)
        }
        Some(number) => serializer.serialize_f64(*number),
        None => serializer.serialize_none(),
    }
}

/// Deserialises a list of ids, each a string or a number.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let items = Vec::<StringOrNumber>::deserialize(deserializer)?;
    Ok(items.into_iter().map(StringOrNumber::into_string).collect())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::string")]
        id: String,
        #[serde(default, deserialize_with = "super::opt_string")]
        phone: Option<String>,
    }

    #[test]
    fn integers_and_strings_become_strings() {
        let probe: Probe = serde_json::from_str(r#"{"id": 746839, "phone": 491721041689}"#).unwrap();
        assert_eq!(probe.id, "746839");
        assert_eq!(probe.phone.as_deref(), Some("491721041689"));
        let probe: Probe = serde_json::from_str(r#"{"id": "VN-1", "phone": null}"#).unwrap();
        assert_eq!(probe.id, "VN-1");
        assert_eq!(probe.phone, None);
        let probe: Probe = serde_json::from_str(r#"{"id": "7"}"#).unwrap();
        assert_eq!(probe.phone, None);
    }

    #[test]
    fn objects_are_rejected() {
        assert!(serde_json::from_str::<Probe>(r#"{"id": {"x": 1}}"#).is_err());
    }
}
