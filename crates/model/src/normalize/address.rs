//! Parsing one-line German addresses (`Hugo-Junkers-Str. 5, 82031 Grünwald`) into their parts,
//! and writing them back.
//!
//! Agents and the AI extraction send whole addresses, parts of them, or no commas at all. The
//! parser keeps the text of each part (whitespace collapsed, house numbers without inner spaces)
//! and leaves folding to [`fold_street`](super::fold_street) and friends. The rule:
//!
//! 1. The input is split at commas into parts; a last part naming the country (`Deutschland`,
//!    `Germany`, `DE`) is dropped.
//! 2. The postcode is the last token of five ASCII digits (optionally written `D-01067`). The
//!    words after it in its part are the city; the words before it are street and house number,
//!    or, when there are none, the previous part is (or the next one, for `82031 Grünwald,
//!    Hauptstr. 5`).
//! 3. Without a postcode, two or more parts are `street, city`; a single part is a street if it
//!    ends with a house number or looks like a street (`...straße`, `...weg`, `Am ...`), else a
//!    city.
//! 4. The house number is the street part's last token when it starts with a digit (`5`, `15a`,
//!    `3-5`, `12/1`), joined with a following single letter (`3 a` → `3a`) or a spaced range
//!    (`3 - 5` → `3-5`); `Hauptstr.5` is split at the dot.

use super::text::fold_street;

/// An address split into its parts; every part is optional because input often is partial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ParsedAddress {
    /// Street name as written (`Hugo-Junkers-Str.`).
    pub street: Option<String>,
    /// House number without inner spaces (`5`, `15a`, `3-5`).
    pub house_number: Option<String>,
    /// Five-digit postcode (PLZ), leading zero kept (`01067`).
    pub postcode: Option<String>,
    /// City as written (`Grünwald`, `Frankfurt (Oder)`).
    pub city: Option<String>,
}

impl ParsedAddress {
    /// The one-line form, see [`format_address`].
    pub fn to_line(&self) -> String {
        format_address(
            self.street.as_deref(),
            self.house_number.as_deref(),
            self.postcode.as_deref(),
            self.city.as_deref(),
        )
    }
}

/// Parses a one-line address or a part of one (see the module documentation for the rule).
pub fn parse_address(input: &str) -> ParsedAddress {
    let mut parts: Vec<Vec<&str>> = input
        .split(',')
        .map(|part| part.split_whitespace().collect::<Vec<_>>())
        .filter(|part| !part.is_empty())
        .collect();
    if parts.len() > 1
        && matches!(
            fold_street(&parts[parts.len() - 1].join(" ")).as_str(),
            "deutschland" | "germany" | "de" | "brd"
        )
    {
        parts.pop();
    }
    let mut parsed = ParsedAddress::default();
    let postcode_at = parts
        .iter()
        .enumerate()
        .flat_map(|(part, tokens)| tokens.iter().enumerate().map(move |(token, text)| (part, token, *text)))
        .filter_map(|(part, token, text)| postcode(text).map(|code| (part, token, code)))
        .next_back();
    let (street_tokens, city_tokens): (&[&str], &[&str]) = match postcode_at {
        Some((part, token, code)) => {
            parsed.postcode = Some(code.to_owned());
            let (before, after) = (&parts[part][..token], &parts[part][token + 1..]);
            let next = parts.get(part + 1).map(Vec::as_slice).unwrap_or_default();
            if !before.is_empty() {
                (before, if after.is_empty() { next } else { after })
            } else if part > 0 {
                (parts[part - 1].as_slice(), if after.is_empty() { next } else { after })
            } else if !after.is_empty() {
                (next, after)
            } else {
                (&[], next)
            }
        }
        None => match parts.as_slice() {
            [] => (&[], &[]),
            [only] if ends_with_house_number(only) || looks_like_street(only) => (only.as_slice(), &[]),
            [only] => (&[], only.as_slice()),
            [street, city, ..] => (street.as_slice(), city.as_slice()),
        },
    };
    let (street, house_number) = split_house_number(street_tokens);
    parsed.street = non_empty(street.join(" "));
    parsed.house_number = house_number;
    parsed.city = non_empty(city_tokens.join(" "));
    parsed
}

/// Writes an address as one line, `Street No, ZIP City`, leaving out missing (or blank) parts
/// and the comma when one side is empty. For clean parts, [`parse_address`] gives them back.
pub fn format_address(
    street: Option<&str>,
    house_number: Option<&str>,
    postcode: Option<&str>,
    city: Option<&str>,
) -> String {
    let join = |a: Option<&str>, b: Option<&str>| {
        [a, b].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
    };
    let (left, right) = (join(street, house_number), join(postcode, city));
    [left, right].into_iter().filter(|side| !side.is_empty()).collect::<Vec<_>>().join(", ")
}

/// The five digits of a postcode token (`01067`, `D-01067`), or `None`.
fn postcode(token: &str) -> Option<&str> {
    let digits =
        ["D-", "d-", "DE-", "de-"].iter().find_map(|prefix| token.strip_prefix(prefix)).unwrap_or(token);
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Whether a token can be (the start of) a house number: a digit, then digits, letters, `-`, `/`.
fn is_house_number(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
        && token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/'))
}

fn ends_with_house_number(tokens: &[&str]) -> bool {
    split_house_number(tokens).1.is_some()
}

fn looks_like_street(tokens: &[&str]) -> bool {
    const SUFFIXES: [&str; 12] =
        ["str", "weg", "pl", "allee", "gasse", "ring", "damm", "ufer", "chaussee", "steig", "pfad", "stieg"];
    let folded = fold_street(&tokens.join(" "));
    let first_is_preposition = folded
        .split(' ')
        .next()
        .is_some_and(|first| matches!(first, "am" | "an" | "auf" | "im" | "zum" | "zur"));
    first_is_preposition || folded.split(' ').any(|word| SUFFIXES.iter().any(|suffix| word.ends_with(suffix)))
}

/// Splits a street part into street words and house number.
fn split_house_number(tokens: &[&str]) -> (Vec<String>, Option<String>) {
    let mut words: Vec<String> = tokens.iter().map(|token| (*token).to_owned()).collect();
    // `Hauptstr.5`: a number glued to an abbreviation's dot.
    if let Some(last) = words.last()
        && let Some((street, number)) = last.rsplit_once('.')
        && !street.is_empty()
        && is_house_number(number)
    {
        let (street, number) = (format!("{street}."), number.to_owned());
        words.pop();
        words.extend([street, number]);
    }
    let num_words = words.len();
    let number_start = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [.., first, "-", last] if is_house_number(first) && is_house_number(last) => num_words - 3,
        [.., number, letter]
            if is_house_number(number)
                && letter.len() == 1
                && letter.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            num_words - 2
        }
        [.., number] if is_house_number(number) => num_words - 1,
        _ => return (words, None),
    };
    let number = words.split_off(number_start).concat();
    (words, Some(number))
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn address(
        street: Option<&str>,
        number: Option<&str>,
        postcode: Option<&str>,
        city: Option<&str>,
    ) -> ParsedAddress {
        ParsedAddress {
            street: street.map(str::to_owned),
            house_number: number.map(str::to_owned),
            postcode: postcode.map(str::to_owned),
            city: city.map(str::to_owned),
        }
    }

    #[test]
    fn documented_shapes() {
        let cases = [
            (
                "Hugo-Junkers-Str. 5, 82031 Grünwald",
                address(Some("Hugo-Junkers-Str."), Some("5"), Some("82031"), Some("Grünwald")),
            ),
            (
                "Hauptstraße 15a, 01067 Dresden",
                address(Some("Hauptstraße"), Some("15a"), Some("01067"), Some("Dresden")),
            ),
            ("Am Markt 3-5", address(Some("Am Markt"), Some("3-5"), None, None)),
            ("82031 Grünwald", address(None, None, Some("82031"), Some("Grünwald"))),
            (
                "Lindenweg 7 12345 Berlin",
                address(Some("Lindenweg"), Some("7"), Some("12345"), Some("Berlin")),
            ),
            ("Grünwald", address(None, None, None, Some("Grünwald"))),
            ("Hauptstraße", address(Some("Hauptstraße"), None, None, None)),
            ("Am Markt 3 a", address(Some("Am Markt"), Some("3a"), None, None)),
            (
                "Am Markt 3 - 5 ,  04109   Leipzig ",
                address(Some("Am Markt"), Some("3-5"), Some("04109"), Some("Leipzig")),
            ),
            (
                "Hauptstr.5, D-01067 Dresden",
                address(Some("Hauptstr."), Some("5"), Some("01067"), Some("Dresden")),
            ),
            (
                "Hauptstr. 5, 01067 Dresden, Deutschland",
                address(Some("Hauptstr."), Some("5"), Some("01067"), Some("Dresden")),
            ),
            (
                "Hauptstr. 5, 01067, Dresden",
                address(Some("Hauptstr."), Some("5"), Some("01067"), Some("Dresden")),
            ),
            (
                "82031 Grünwald, Hugo-Junkers-Str. 5",
                address(Some("Hugo-Junkers-Str."), Some("5"), Some("82031"), Some("Grünwald")),
            ),
            (
                "Straße des 17. Juni 135, 10623 Berlin",
                address(Some("Straße des 17. Juni"), Some("135"), Some("10623"), Some("Berlin")),
            ),
            ("Am Markt, Berlin", address(Some("Am Markt"), None, None, Some("Berlin"))),
            ("12/1", address(None, Some("12/1"), None, None)),
            ("01067", address(None, None, Some("01067"), None)),
            (" , ", address(None, None, None, None)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_address(input), expected, "{input}");
        }
    }

    #[test]
    fn formatting_leaves_out_missing_parts() {
        assert_eq!(
            format_address(Some("Hauptstraße"), Some("15a"), Some("01067"), Some("Dresden")),
            "Hauptstraße 15a, 01067 Dresden"
        );
        assert_eq!(format_address(None, None, Some("82031"), Some("Grünwald")), "82031 Grünwald");
        assert_eq!(format_address(Some("Am Markt"), Some("3-5"), None, Some(" ")), "Am Markt 3-5");
        assert_eq!(format_address(None, None, None, None), "");
        let parsed = parse_address("Hugo-Junkers-Str. 5, 82031 Grünwald");
        assert_eq!(parsed.to_line(), "Hugo-Junkers-Str. 5, 82031 Grünwald");
    }

    fn street() -> impl Strategy<Value = String> {
        let word = "[A-ZÄÖÜ][a-zäöüß]{2,9}";
        let suffix =
            prop::sample::select(vec!["straße", "str.", "weg", "allee", " Straße", "-Str.", "gasse", ""]);
        let prefix = prop::sample::select(vec!["", "Am ", "An der ", "Zum "]);
        (prefix, prop::collection::vec(word, 1..3), suffix)
            .prop_map(|(prefix, words, suffix)| format!("{prefix}{}{suffix}", words.join("-")))
    }

    fn house_number() -> impl Strategy<Value = String> {
        prop_oneof!["[1-9][0-9]{0,2}[a-f]?", "[1-9][0-9]{0,2}-[1-9][0-9]{0,2}", "[1-9][0-9]{0,2}/[1-9]"]
    }

    fn city() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "Grünwald",
            "Dresden",
            "Frankfurt am Main",
            "Frankfurt (Oder)",
            "Halle (Saale)",
            "München",
            "Görlitz",
            "Bad Homburg vor der Höhe",
            "Sankt Augustin",
            "Weil am Rhein",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #[test]
        fn clean_addresses_round_trip(
            street in prop::option::of(street()),
            number in prop::option::of(house_number()),
            postcode in prop::option::of("[0-9]{5}"),
            city in prop::option::of(city()),
        ) {
            // A lone street without number, postcode or city is ambiguous with a city name.
            let street_only = street.is_some() && number.is_none() && postcode.is_none();
            let city = if street_only { city.or(Some("Dresden".into())) } else { city };
            let expected = ParsedAddress { street, house_number: number, postcode, city };
            let line = expected.to_line();
            prop_assert_eq!(parse_address(&line), expected.clone(), "{}", line);
            let without_comma = line.replace(", ", " ");
            if expected.postcode.is_some() {
                prop_assert_eq!(parse_address(&without_comma), expected.clone(), "{}", without_comma);
            }
            prop_assert_eq!(parse_address(&line).to_line(), line);
        }

        #[test]
        fn never_panics_and_formatting_is_stable(input in ".*") {
            let parsed = parse_address(&input);
            let line = parsed.to_line();
            prop_assert_eq!(parse_address(&line).to_line(), line);
        }
    }
}
