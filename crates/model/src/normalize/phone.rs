//! Phone numbers to E.164 (`+491711234567`), with Germany as the default region.
//!
//! The same number reaches us as `+49 171 1234567`, `+49 (0)171 1234567`, `0049 171 1234567`,
//! `0171/1234567`, `491711234567` (enneo stores phones as integers) or split into area code and
//! number (Powercloud). The rule, in order:
//!
//! 1. Only ASCII digits, whitespace, `-`, `/`, `.`, `(`, `)` and one `+` before the first digit
//!    (`(+49) 171 ...`) are accepted; letters (vanity numbers, `ext. 12`) and anything else are
//!    an error rather than a guess.
//! 2. Separators carry no meaning and are dropped; `00` is read as `+` (Germany's IDD).
//! 3. Digits without `+`, `00` or a leading `0` that start with `49` carry the country code
//!    (`491711234567`); other digits without a prefix are a German national number that lost its
//!    trunk `0` when stored as an integer (`1711234567`).
//! 4. The `phonenumber` crate parses the result (national numbers with region DE, international
//!    ones with their own country's rules, so a trunk `(0)` is dropped where that country uses
//!    one and an Italian leading `0` is kept) and formats E.164.
//! 5. At least five digits must follow the country code and at most 15 digits may make up the
//!    whole number.
//!
//! Numbers with country code 49 whose national part starts with 1–9 take a fast path that
//! builds the key by hand; a proptest checks it against the `phonenumber` path.

use super::{NormalizeError, ValueKind};

/// Fewest digits after the country code we accept (Germany's shortest numbers have five).
pub(crate) const MIN_NATIONAL_DIGITS: usize = 5;
/// E.164 allows at most 15 digits including the country code.
const MAX_E164_DIGITS: usize = 15;

/// Normalises a phone number to E.164 (`+491711234567`), reading national numbers as German.
///
/// See the module documentation for the exact rule. Every spelling of the same number gives
/// the same key; the key is itself a valid input and normalises to itself.
pub fn normalize_phone(input: &str) -> Result<String, NormalizeError> {
    let compact = compact_phone(input)?;
    match fast_path(&compact) {
        Some(key) => Ok(key),
        None => phonenumber_path(&compact),
    }
}

/// Normalises a phone number stored as area code and number (Powercloud's `phoneHomeAreaCode`
/// `"089"` + `phoneHome` `"1234567"`).
///
/// An area code without its trunk `0` (`"89"`) gets it back; an empty area code, or a number that
/// starts with `+`, means the number field holds the whole number. (A number starting with `0`
/// is still joined: mobile subscriber numbers may start with `0`.)
pub fn normalize_phone_parts(area_code: &str, number: &str) -> Result<String, NormalizeError> {
    let area_code = area_code.trim();
    let number = number.trim();
    if area_code.is_empty() || number.starts_with('+') {
        return normalize_phone(number);
    }
    if number.is_empty() {
        return normalize_phone(area_code);
    }
    let trunk = if area_code.starts_with(|c: char| c.is_ascii_digit() && c != '0') { "0" } else { "" };
    normalize_phone(&format!("{trunk}{area_code} {number}"))
}

/// The input reduced to an optional leading `+` and digits, `00` rewritten to `+` and rule 3
/// applied, or the reason it is not a phone number.
fn compact_phone(input: &str) -> Result<String, NormalizeError> {
    let trimmed = input.trim();
    let mut compact = String::with_capacity(trimmed.len());
    for character in trimmed.chars() {
        match character {
            '0'..='9' => compact.push(character),
            '+' if compact.is_empty() => compact.push('+'),
            '-' | '/' | '.' | '(' | ')' => {}
            _ if character.is_whitespace() => {}
            _ => return Err(NormalizeError::InvalidCharacter { kind: ValueKind::Phone, character }),
        }
    }
    if compact.is_empty() || compact == "+" {
        return Err(NormalizeError::Empty);
    }
    if let Some(rest) = compact.strip_prefix("00") {
        compact = format!("+{rest}");
    } else if compact.starts_with("49") {
        compact.insert(0, '+');
    }
    Ok(compact)
}

/// The key for `+49` numbers and German national numbers whose national part starts with 1–9,
/// or `None` to leave the number to `phonenumber`.
fn fast_path(compact: &str) -> Option<String> {
    let national = if let Some(rest) = compact.strip_prefix("+49") {
        // A trunk `(0)` after the country code is dropped, as `phonenumber` does.
        rest.strip_prefix('0').unwrap_or(rest)
    } else {
        compact.strip_prefix('0')?
    };
    let starts_well = national.starts_with(|c: char| matches!(c, '1'..='9'));
    let length_ok = (MIN_NATIONAL_DIGITS..=MAX_E164_DIGITS - 2).contains(&national.len());
    (starts_well && length_ok).then(|| format!("+49{national}"))
}

/// The reference path: `phonenumber` parses the compact form, then our length limits apply.
fn phonenumber_path(compact: &str) -> Result<String, NormalizeError> {
    // International numbers are parsed without a default region: with region DE, the crate
    // strips Germany's trunk `0` from every country's numbers, breaking Italian ones.
    let region = if compact.starts_with('+') { None } else { Some(phonenumber::country::Id::DE) };
    let parsed = phonenumber::parse(region, compact).map_err(|error| match error {
        phonenumber::ParseError::TooLong => {
            NormalizeError::PhoneTooLong { num_digits: compact.bytes().filter(u8::is_ascii_digit).count() }
        }
        _ => NormalizeError::PhoneUnparseable { reason: error.to_string() },
    })?;
    let national = parsed.national().to_string();
    let country_code = parsed.code().value().to_string();
    if national.len() < MIN_NATIONAL_DIGITS {
        return Err(NormalizeError::PhoneTooShort { num_digits: national.len() });
    }
    let num_digits = country_code.len() + national.len();
    if num_digits > MAX_E164_DIGITS {
        return Err(NormalizeError::PhoneTooLong { num_digits });
    }
    Ok(format!("+{country_code}{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The key of the `phonenumber` path for the same input, bypassing the fast path.
    fn reference(input: &str) -> Result<String, NormalizeError> {
        phonenumber_path(&compact_phone(input)?)
    }

    #[test]
    fn every_documented_spelling_gives_the_same_key() {
        let spellings = [
            "+49 171 1234567",
            "+49 (0)171 1234567",
            "0049 171 1234567",
            "0171 1234567",
            "0171/1234567",
            "0171-123 45 67",
            "0171.1234567",
            "491711234567",
            "1711234567",
            " +49-171-1234567 ",
            "(+49) 171 1234567",
        ];
        for spelling in spellings {
            assert_eq!(normalize_phone(spelling).as_deref(), Ok("+491711234567"), "{spelling}");
            assert_eq!(reference(spelling).as_deref(), Ok("+491711234567"), "{spelling}");
        }
        for spelling in ["(030) 1234567", "030-123 45 67", "+49 30 1234567", "4930 1234567"] {
            assert_eq!(normalize_phone(spelling).as_deref(), Ok("+49301234567"), "{spelling}");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        assert_eq!(normalize_phone("+43 1 234567").as_deref(), Ok("+431234567"));
        assert_eq!(normalize_phone("0043 (0)1 234567").as_deref(), Ok("+431234567"));
        assert_eq!(normalize_phone("+41 (0)44 123 45 67").as_deref(), Ok("+41441234567"));
        assert_eq!(normalize_phone("+1 212 555 1234").as_deref(), Ok("+12125551234"));
        // Italy's leading 0 belongs to the number; region DE would wrongly strip it.
        assert_eq!(normalize_phone("+39 06 1234 5678").as_deref(), Ok("+390612345678"));
    }

    #[test]
    fn split_fields_join_to_the_same_key() {
        assert_eq!(normalize_phone_parts("089", "1234567").as_deref(), Ok("+49891234567"));
        assert_eq!(normalize_phone_parts("89", "123 45 67").as_deref(), Ok("+49891234567"));
        assert_eq!(normalize_phone_parts("", "089 1234567").as_deref(), Ok("+49891234567"));
        assert_eq!(normalize_phone_parts("0171", "+49 171 1234567").as_deref(), Ok("+491711234567"));
        assert_eq!(normalize_phone_parts("+49 89", "1234567").as_deref(), Ok("+49891234567"));
        assert_eq!(normalize_phone_parts("0171", "0123456").as_deref(), Ok("+491710123456"));
        assert_eq!(normalize_phone_parts("", ""), Err(NormalizeError::Empty));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert_eq!(normalize_phone(""), Err(NormalizeError::Empty));
        assert_eq!(normalize_phone(" ( ) - "), Err(NormalizeError::Empty));
        assert_eq!(normalize_phone("+"), Err(NormalizeError::Empty));
        let letters = normalize_phone("0800-FLOWERS");
        assert_eq!(letters, Err(NormalizeError::InvalidCharacter { kind: ValueKind::Phone, character: 'F' }));
        assert!(matches!(
            normalize_phone("0171 1234567 ext 5"),
            Err(NormalizeError::InvalidCharacter { .. })
        ));
        assert!(matches!(normalize_phone("0171+1234567"), Err(NormalizeError::InvalidCharacter { .. })));
        assert_eq!(normalize_phone("030 12"), Err(NormalizeError::PhoneTooShort { num_digits: 4 }));
        assert_eq!(normalize_phone("12"), Err(NormalizeError::PhoneTooShort { num_digits: 2 }));
        assert_eq!(
            normalize_phone("0171 1234567 0172 7654321"),
            Err(NormalizeError::PhoneTooLong { num_digits: 22 })
        );
        assert!(matches!(normalize_phone("+999 1234567"), Err(NormalizeError::PhoneUnparseable { .. })));
        assert!(matches!(normalize_phone("00"), Err(NormalizeError::PhoneUnparseable { .. })));
    }

    /// A German national significant number: a mobile (15x/16x/17x) or a landline with an area
    /// code of 2 to 5 digits, as `(area code without 0, subscriber)`.
    fn german_number() -> impl Strategy<Value = (String, String)> {
        prop_oneof![("1[567][0-9]", "[0-9]{7,8}"), ("[2-9][0-9]{1,4}", "[1-9][0-9]{2,7}"),]
    }

    /// Renders a number in one of the ways people and ERPs write it.
    fn render(area: &str, subscriber: &str, style: usize) -> String {
        let (head, tail) = subscriber.split_at(subscriber.len() / 2);
        match style {
            0 => format!("+49 {area} {subscriber}"),
            1 => format!("+49 (0){area} {subscriber}"),
            2 => format!("0049 {area} {subscriber}"),
            3 => format!("0{area} {subscriber}"),
            4 => format!("0{area}/{subscriber}"),
            5 => format!("(0{area}) {subscriber}"),
            6 => format!("0{area}-{head} {tail}"),
            7 => format!("49{area}{subscriber}"),
            8 => format!("{area}{subscriber}"),
            9 => format!("+49-{area}-{head}-{tail}"),
            _ => format!("\t0{area}.{head}.{tail} "),
        }
    }

    proptest! {
        #[test]
        fn all_spellings_of_a_german_number_agree(
            (area, subscriber) in german_number(),
            style in 0usize..11,
        ) {
            let expected = format!("+49{area}{subscriber}");
            // Without the trunk 0, digits starting with 49 read as the country code (rule 3), so
            // a lost trunk 0 is only recoverable for area codes not starting with 49 (Leer, 0491).
            let style = if style == 8 && area.starts_with("49") { 3 } else { style };
            let spelling = render(&area, &subscriber, style);
            prop_assert_eq!(normalize_phone(&spelling), Ok(expected.clone()));
            prop_assert_eq!(reference(&spelling), Ok(expected.clone()));
            let (area_code, number) = (format!("0{area}"), subscriber.clone());
            prop_assert_eq!(normalize_phone_parts(&area_code, &number), Ok(expected));
        }

        #[test]
        fn fast_path_equals_phonenumber_path(
            prefix in prop::sample::select(
                vec!["", "+", "0", "00", "+49", "+490", "0049", "00490", "49", "490"],
            ),
            digits in "[0-9]{0,18}",
        ) {
            let compact = compact_phone(&format!("{prefix}{digits}"));
            if let Ok(compact) = compact
                && let Some(fast) = fast_path(&compact)
            {
                prop_assert_eq!(Ok(fast), phonenumber_path(&compact));
            }
        }

        #[test]
        fn normalising_is_idempotent(input in "[+0-9 ()/-]{0,24}") {
            if let Ok(key) = normalize_phone(&input) {
                prop_assert_eq!(normalize_phone(&key), Ok(key.clone()));
                prop_assert_eq!(reference(&key), Ok(key));
            }
        }

        #[test]
        fn never_panics(input in ".*", area in ".{0,6}") {
            let _ = normalize_phone(&input);
            let _ = reference(&input);
            let _ = normalize_phone_parts(&area, &input);
        }
    }
}
