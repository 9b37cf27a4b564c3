//! Meter numbers (Zählernummern) to a compact uppercase key, and DIN 43863-5 parsing.
//!
//! Modern meters carry a 14-character number per DIN 43863-5: medium (one character: `1`
//! electricity, `7` gas, `E`, ...), manufacturer (three letters such as `ESY`), block (two
//! digits) and serial (eight digits), e.g. `1ESY1160669167`. People write it as
//! `1 ESY 11 60669167` or `1-ESY-11-60669167`; older meters carry shorter numeric numbers. The key
//! keeps the characters and drops the separators (whitespace, `-`, `.`, `/`), uppercased, so it
//! works for both; [`parse_din_meter`] additionally splits DIN numbers into their parts.

use std::fmt;

use super::{NormalizeError, ValueKind};

/// A meter number in the DIN 43863-5 layout (`1ESY1160669167`). `Display` writes the compact
/// 14-character form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DinMeterNumber {
    /// Medium or meter kind: `1` electricity, `7` gas, `E` and others (any digit or letter).
    pub medium: char,
    /// Manufacturer code, three uppercase letters (`ESY`, `EMH`, `ITR`).
    pub manufacturer: String,
    /// Fabrication block, two digits (kept as text for its leading zero).
    pub block: String,
    /// Serial number, eight digits (kept as text for its leading zeros).
    pub serial: String,
}

impl fmt::Display for DinMeterNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}{}{}{}", self.medium, self.manufacturer, self.block, self.serial)
    }
}

/// Normalises a meter number: drops whitespace, `-`, `.` and `/`, uppercases ASCII letters.
///
/// Any other character (including non-ASCII letters) is an error, as is an input with nothing
/// left. The key is a valid input and normalises to itself.
pub fn normalize_meter(input: &str) -> Result<String, NormalizeError> {
    let mut compact = String::with_capacity(input.len());
    for character in input.chars() {
        match character {
            'a'..='z' | 'A'..='Z' | '0'..='9' => compact.push(character.to_ascii_uppercase()),
            '-' | '.' | '/' => {}
            _ if character.is_whitespace() => {}
            _ => return Err(NormalizeError::InvalidCharacter { kind: ValueKind::Meter, character }),
        }
    }
    if compact.is_empty() {
        return Err(NormalizeError::Empty);
    }
    Ok(compact)
}

/// Splits a meter number in DIN 43863-5 layout into its parts, accepting every spelling that
/// [`normalize_meter`] accepts; `None` when the normalised number is not in that layout.
pub fn parse_din_meter(input: &str) -> Option<DinMeterNumber> {
    let compact = normalize_meter(input).ok()?;
    let bytes = compact.as_bytes();
    let is_din = bytes.len() == 14
        && bytes[1..4].iter().all(u8::is_ascii_uppercase)
        && bytes[4..].iter().all(u8::is_ascii_digit);
    // The medium is a digit or letter by construction of the key.
    is_din.then(|| DinMeterNumber {
        medium: char::from(bytes[0]),
        manufacturer: compact[1..4].to_owned(),
        block: compact[4..6].to_owned(),
        serial: compact[6..].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_example() {
        let expected = DinMeterNumber {
            medium: '1',
            manufacturer: "ESY".into(),
            block: "11".into(),
            serial: "60669167".into(),
        };
        for spelling in ["1ESY1160669167", "1 ESY 11 60669167", "1-esy-11-6066 9167", " 1.ESY.11/60669167 "] {
            assert_eq!(normalize_meter(spelling).as_deref(), Ok("1ESY1160669167"), "{spelling}");
            assert_eq!(parse_din_meter(spelling).as_ref(), Some(&expected), "{spelling}");
        }
        assert_eq!(expected.to_string(), "1ESY1160669167");
        assert_eq!(parse_din_meter("EEMH0512345678").map(|m| m.medium), Some('E'));
    }

    #[test]
    fn other_shapes_normalise_but_are_not_din() {
        assert_eq!(normalize_meter("0815 4711").as_deref(), Ok("08154711"));
        assert_eq!(parse_din_meter("0815 4711"), None);
        // Medium digit dropped, as people do: still a key, no longer DIN.
        assert_eq!(parse_din_meter("ESY 11 60669167"), None);
        assert_eq!(parse_din_meter("1ES11160669167"), None);
        assert_eq!(parse_din_meter("1ESY116066916A"), None);
        assert_eq!(parse_din_meter(""), None);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(normalize_meter(" - / "), Err(NormalizeError::Empty));
        assert_eq!(
            normalize_meter("1ESY#11"),
            Err(NormalizeError::InvalidCharacter { kind: ValueKind::Meter, character: '#' })
        );
        assert!(normalize_meter("Zähler 1").is_err());
    }

    /// Renders a DIN meter number the ways people write it.
    fn render(meter: &DinMeterNumber, style: usize) -> String {
        let DinMeterNumber { medium, manufacturer, block, serial } = meter;
        match style {
            0 => meter.to_string(),
            1 => format!("{medium} {manufacturer} {block} {serial}"),
            2 => format!("{medium}-{manufacturer}-{block}-{serial}").to_lowercase(),
            3 => format!("{medium}{manufacturer} {block}.{serial}"),
            _ => format!(
                " {medium} {} {block} {} {} ",
                manufacturer.to_lowercase(),
                &serial[..4],
                &serial[4..]
            ),
        }
    }

    fn din_meter() -> impl Strategy<Value = DinMeterNumber> {
        ("[0-9A-Z]", "[A-Z]{3}", "[0-9]{2}", "[0-9]{8}").prop_map(|(medium, manufacturer, block, serial)| {
            DinMeterNumber { medium: medium.chars().next().unwrap(), manufacturer, block, serial }
        })
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_din_number_agrees(meter in din_meter(), style in 0usize..5) {
            let spelling = render(&meter, style);
            let key = meter.to_string();
            prop_assert_eq!(normalize_meter(&spelling), Ok(key.clone()));
            prop_assert_eq!(normalize_meter(&key), Ok(key.clone()));
            prop_assert_eq!(parse_din_meter(&spelling), Some(meter));
        }

        #[test]
        fn never_panics_and_is_idempotent(input in ".*") {
            if let Ok(key) = normalize_meter(&input) {
                prop_assert_eq!(normalize_meter(&key), Ok(key.clone()));
                if let Some(meter) = parse_din_meter(&input) {
                    prop_assert_eq!(meter.to_string(), key);
                }
            } else {
                prop_assert_eq!(parse_din_meter(&input), None);
            }
        }
    }
}
