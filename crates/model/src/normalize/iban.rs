//! IBANs to their compact uppercase form (`DE89370400440532013000`), checked per ISO 13616.
//!
//! People write IBANs in groups of four, with dashes, in lowercase or after an `IBAN:` label.
//! The key drops all of that. It is only produced for IBANs that can exist: a known IBAN country,
//! that country's length (22 for Germany), check digits that match (mod 97, which catches every
//! single typo and swapped neighbour) and the country's letters/digits pattern for the account
//! part (checked by the `iban_validate` crate). The length table below is SWIFT's IBAN registry
//! as shipped in `iban_validate` 5.0.1; a test keeps the two in step.

use super::{NormalizeError, ValueKind};

/// IBAN length per country code (SWIFT IBAN registry), sorted for binary search.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// Normalises an IBAN: drops whitespace, dashes, dots and a leading `IBAN` label, uppercases,
/// and checks country, length, mod-97 check digits and the account part's pattern.
///
/// The key is a valid input and normalises to itself.
pub fn normalize_iban(input: &str) -> Result<String, NormalizeError> {
    let mut compact = compact_upper(input)?;
    if let Some(rest) = compact.strip_prefix("IBAN") {
        // "IB" is no country, so a leading "IBAN" can only be a label.
        compact = rest.strip_prefix(':').unwrap_or(rest).to_owned();
    }
    if compact.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let bytes = compact.as_bytes();
    let prefix_ok = bytes.len() >= 4
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit);
    if !prefix_ok {
        return Err(NormalizeError::IbanPrefix);
    }
    let country = &compact[..2];
    let Ok(index) = IBAN_LENGTHS.binary_search_by(|(code, _)| (*code).cmp(country)) else {
        return Err(NormalizeError::IbanUnknownCountry { country: country.to_owned() });
    };
    let expected = IBAN_LENGTHS[index].1;
    if compact.len() != expected {
        return Err(NormalizeError::IbanLength {
            country: country.to_owned(),
            expected,
            found: compact.len(),
        });
    }
    if mod97(compact[4..].bytes().chain(compact[..4].bytes())) != 1 {
        return Err(NormalizeError::IbanChecksum);
    }
    match compact.parse::<iban::Iban>() {
        Ok(_) => Ok(compact),
        Err(iban::ParseIbanError::UnknownCountry(_)) => {
            Err(NormalizeError::IbanUnknownCountry { country: country.to_owned() })
        }
        Err(_) => Err(NormalizeError::IbanBbanFormat { country: country.to_owned() }),
    }
}

/// Computes the two ISO 13616 check digits for a country code and an account part (BBAN),
/// e.g. `iban_check_digits("DE", "370400440532013000") == "89"`.
///
/// Meant for building valid IBANs (the data generator): both arguments are uppercased and
/// anything but ASCII letters and digits in them is ignored, so the result is always two digits.
pub fn iban_check_digits(country: &str, bban: &str) -> String {
    let alphanumeric = |s: &str| {
        s.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_uppercase()).collect::<Vec<_>>()
    };
    let (country, bban) = (alphanumeric(country), alphanumeric(bban));
    let remainder = mod97(bban.into_iter().chain(country).chain(*b"00"));
    format!("{:02}", 98 - remainder)
}

/// Writes an IBAN in the printed groups of four (`DE89 3704 0044 0532 0130 00`), after dropping
/// whitespace and dashes and uppercasing. Does not validate.
pub fn format_iban_groups(input: &str) -> String {
    let compact: Vec<char> =
        input.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
    compact.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// The input without whitespace, dashes and dots, uppercased; any other non-alphanumeric
/// character is an error.
fn compact_upper(input: &str) -> Result<String, NormalizeError> {
    let mut compact = String::with_capacity(input.len());
    for character in input.chars() {
        match character {
            'a'..='z' | 'A'..='Z' | '0'..='9' => compact.push(character.to_ascii_uppercase()),
            '-' | '.' => {}
            // A colon only makes sense after a leading "IBAN" label; `normalize_iban` checks.
            ':' if compact == "IBAN" => compact.push(':'),
            _ if character.is_whitespace() => {}
            _ => return Err(NormalizeError::InvalidCharacter { kind: ValueKind::Iban, character }),
        }
    }
    Ok(compact)
}

/// The ISO 7064 mod-97 remainder of ASCII letters and digits, letters counting as 10..=35.
fn mod97(bytes: impl Iterator<Item = u8>) -> u32 {
    bytes.fold(0, |remainder, byte| match byte {
        b'0'..=b'9' => (remainder * 10 + u32::from(byte - b'0')) % 97,
        _ => (remainder * 100 + u32::from(byte.to_ascii_uppercase().saturating_sub(b'A')) + 10) % 97,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_iban_in_every_spelling() {
        for spelling in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "de89 3704 0044 0532 0130 00",
            " DE89-3704-0044-0532-0130-00 ",
            "IBAN: DE89 3704 0044 0532 0130 00",
            "iban DE89370400440532013000",
        ] {
            assert_eq!(normalize_iban(spelling).as_deref(), Ok("DE89370400440532013000"), "{spelling}");
        }
        assert_eq!(normalize_iban("GB82 WEST 1234 5698 7654 32").as_deref(), Ok("GB82WEST12345698765432"));
        assert_eq!(normalize_iban("AT61 1904 3002 3457 3201").as_deref(), Ok("AT611904300234573201"));
    }

    #[test]
    fn each_problem_has_its_error() {
        assert_eq!(normalize_iban(" - "), Err(NormalizeError::Empty));
        assert_eq!(normalize_iban("DE88 3704 0044 0532 0130 00"), Err(NormalizeError::IbanChecksum));
        assert_eq!(normalize_iban("DE89 3704 0044 0523 0130 00"), Err(NormalizeError::IbanChecksum));
        assert_eq!(
            normalize_iban("DE89 3704 0044 0532 0130 0"),
            Err(NormalizeError::IbanLength { country: "DE".into(), expected: 22, found: 21 })
        );
        assert_eq!(
            normalize_iban("XX89 3704"),
            Err(NormalizeError::IbanUnknownCountry { country: "XX".into() })
        );
        assert_eq!(normalize_iban("3704 0044 0532 0130 00"), Err(NormalizeError::IbanPrefix));
        assert_eq!(normalize_iban("DEXX"), Err(NormalizeError::IbanPrefix));
        assert_eq!(
            normalize_iban("DE89/3704"),
            Err(NormalizeError::InvalidCharacter { kind: ValueKind::Iban, character: '/' })
        );
        // Valid checksum, but Germany's account part is digits only.
        let bban = "37040044053201300A";
        let iban = format!("DE{}{bban}", iban_check_digits("DE", bban));
        assert_eq!(normalize_iban(&iban), Err(NormalizeError::IbanBbanFormat { country: "DE".into() }));
    }

    #[test]
    fn check_digits_and_groups() {
        assert_eq!(iban_check_digits("DE", "370400440532013000"), "89");
        assert_eq!(iban_check_digits("de", "3704 0044 0532 0130 00"), "89");
        assert_eq!(iban_check_digits("GB", "WEST12345698765432"), "82");
        assert_eq!(iban_check_digits("", "").len(), 2);
        assert_eq!(format_iban_groups("de89370400440532013000"), "DE89 3704 0044 0532 0130 00");
        assert_eq!(format_iban_groups(""), "");
    }

    #[test]
    fn length_table_is_sorted_and_matches_iban_validate() {
        assert!(IBAN_LENGTHS.windows(2).all(|pair| pair[0].0 < pair[1].0));
        for &(country, length) in IBAN_LENGTHS {
            let bban = "0".repeat(length - 4);
            let iban = format!("{country}{}{bban}", iban_check_digits(country, &bban));
            let parsed = iban.parse::<iban::Iban>();
            // Some countries need letters in the account part; the country must still be known
            // and the base IBAN (length, checksum) accepted.
            assert!(
                matches!(parsed, Ok(_) | Err(iban::ParseIbanError::InvalidBban(_))),
                "{country}: {parsed:?}"
            );
            let too_long = format!("{iban}0");
            assert!(too_long.parse::<iban::Iban>().is_err(), "{country}");
        }
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_german_iban_agrees(
            bank_code in "[0-9]{8}",
            account in "[0-9]{10}",
            lowercase in any::<bool>(),
            grouped in any::<bool>(),
        ) {
            let bban = format!("{bank_code}{account}");
            let key = format!("DE{}{bban}", iban_check_digits("DE", &bban));
            let mut spelling = if grouped { format_iban_groups(&key) } else { key.clone() };
            if lowercase {
                spelling = spelling.to_lowercase();
            }
            prop_assert_eq!(normalize_iban(&spelling), Ok(key.clone()));
            prop_assert_eq!(normalize_iban(&key), Ok(key.clone()));
            prop_assert!(key.parse::<iban::Iban>().is_ok());
        }

        #[test]
        fn any_single_digit_typo_is_caught(
            bban in "[0-9]{18}",
            position in 2usize..22,
            shift in 1u8..10,
        ) {
            let key = format!("DE{}{bban}", iban_check_digits("DE", &bban));
            let mut typo = key.into_bytes();
            typo[position] = b'0' + (typo[position] - b'0' + shift) % 10;
            let typo = String::from_utf8(typo).unwrap();
            prop_assert_eq!(normalize_iban(&typo), Err(NormalizeError::IbanChecksum));
        }

        #[test]
        fn agrees_with_iban_validate(input in "(IBAN )?[A-Z]{2}[0-9]{2}[0-9A-Z ]{10,30}|.*") {
            let ours = normalize_iban(&input);
            if let Ok(key) = &ours {
                prop_assert_eq!(normalize_iban(key), Ok(key.clone()));
                prop_assert!(key.parse::<iban::Iban>().is_ok());
            }
            let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.parse::<iban::Iban>().is_ok() {
                prop_assert_eq!(ours, Ok(compact.to_ascii_uppercase()));
            }
        }

        #[test]
        fn helpers_never_panic(country in ".{0,3}", input in ".*") {
            let digits = iban_check_digits(&country, &input);
            prop_assert!(digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit()));
            let grouped = format_iban_groups(&input);
            prop_assert_eq!(format_iban_groups(&grouped), grouped);
        }
    }
}
