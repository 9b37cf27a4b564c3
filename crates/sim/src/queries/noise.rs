//! The noise real queries carry: typos, umlaut spellings, OCR confusions, other phone and id
//! formats, partial meter numbers. Each function takes the clean value and a generator.

use crate::generate::Phone;
use crate::rng::Rng;

/// One random edit (substitution, deletion, insertion or transposition), never on the first
/// letter, for words of at least five letters; two edits from nine letters with some chance.
pub fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 5 {
        return word.to_owned();
    }
    let edits = if chars.len() >= 9 && rng.chance(0.3) { 2 } else { 1 };
    for _ in 0..edits {
        let position = 1 + rng.below(chars.len() as u64 - 1) as usize;
        let letter = char::from(b'a' + rng.below(26) as u8);
        match rng.below(4) {
            0 => chars[position] = letter,
            1 => {
                chars.remove(position);
            }
            2 => chars.insert(position, letter),
            _ if position + 1 < chars.len() => chars.swap(position, position + 1),
            _ => chars[position] = letter,
        }
    }
    chars.into_iter().collect()
}

/// Spells umlauts the other way: `ü` → `ue` (or `u`), `ue` → `ü`, `ß` → `ss`.
pub fn umlaut_variant(word: &str, rng: &mut Rng) -> String {
    let plain = rng.chance(0.3);
    let mut out = String::with_capacity(word.len() + 2);
    let mut changed = false;
    for character in word.chars() {
        let replacement = match character {
            'ä' => Some(if plain { "a" } else { "ae" }),
            'ö' => Some(if plain { "o" } else { "oe" }),
            'ü' => Some(if plain { "u" } else { "ue" }),
            'Ä' => Some("Ae"),
            'Ö' => Some("Oe"),
            'Ü' => Some("Ue"),
            'ß' => Some("ss"),
            _ => None,
        };
        match replacement {
            Some(text) => {
                out.push_str(text);
                changed = true;
            }
            None => out.push(character),
        }
    }
    if changed {
        return out;
    }
    // No umlaut: write a digraph as an umlaut, as people and OCR do ("Mueller" → "Müller").
    word.replacen("ue", "ü", 1).replacen("ae", "ä", 1).replacen("oe", "ö", 1)
}

/// One OCR confusion (`0/O`, `1/l/I`, `5/S`, `8/B`, `rn/m`), if the text offers one.
pub fn ocr(text: &str, rng: &mut Rng) -> String {
    const SWAPS: &[(&str, &str)] = &[
        ("0", "O"),
        ("O", "0"),
        ("1", "l"),
        ("l", "1"),
        ("I", "1"),
        ("5", "S"),
        ("S", "5"),
        ("8", "B"),
        ("B", "8"),
        ("m", "rn"),
        ("rn", "m"),
    ];
    let candidates: Vec<_> = SWAPS.iter().filter(|(from, _)| text.contains(from)).collect();
    if candidates.is_empty() {
        return text.to_owned();
    }
    let (from, to) = rng.pick(&candidates);
    let occurrences: Vec<_> = text.match_indices(from).map(|(at, _)| at).collect();
    let at = *rng.pick(&occurrences);
    format!("{}{}{}", &text[..at], to, &text[at + from.len()..])
}

/// A name with the noise of an AI extraction: mostly clean, else a typo, umlaut spelling, case.
pub fn noisy_name(name: &str, rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=3 => name.to_owned(),
        4 | 5 => umlaut_variant(name, rng),
        6 | 7 => typo(name, rng),
        8 => name.to_lowercase(),
        _ => ocr(name, rng),
    }
}

/// The phone in a format other than E.164.
pub fn phone_variant(phone: &Phone, rng: &mut Rng) -> String {
    let national = &phone.area_code[1..];
    let area = &phone.area_code;
    let number = &phone.number;
    match rng.below(9) {
        0 => format!("+49 {national} {number}"),
        1 => format!("+49 (0){national} {number}"),
        2 => format!("0049 {national} {number}"),
        3 => format!("{area} {number}"),
        4 => format!("{area}/{number}"),
        5 => format!("({area}) {number}"),
        6 => format!("49{national}{number}"),
        7 => format!("{area}-{}", spaced(number, 2)),
        _ => format!("+49{national}{number}"),
    }
}

fn spaced(text: &str, group: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(group).map(|chunk| chunk.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// A contract or customer id as people type it: with a prefix, leading zeros, or plain.
pub fn id_variant(id: &str, prefix: &str, rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => format!("{prefix}-00{id}"),
        1 => format!("00{id}"),
        2 => format!("{prefix} {id}"),
        _ => id.to_owned(),
    }
}

/// A meter number as quoted: spaced, dashed, lowercased, without the medium digit, or the
/// serial alone (the last eight characters).
pub fn meter_variant(meter: &str, rng: &mut Rng) -> String {
    let is_din = meter.len() == 14;
    match rng.below(6) {
        0 if is_din => format!("{} {} {} {}", &meter[..1], &meter[1..4], &meter[4..6], &meter[6..]),
        1 if is_din => format!("{}-{}-{}", &meter[..4], &meter[4..6], &meter[6..]),
        2 => meter.to_lowercase(),
        3 if is_din => meter[1..].to_owned(),
        4 if is_din => meter[6..].to_owned(),
        _ => meter.to_owned(),
    }
}

/// A street written another way: `Straße` ↔ `Str.` ↔ `Strasse`.
pub fn street_variant(street: &str, rng: &mut Rng) -> String {
    let options: [&str; 3] = ["str.", "strasse", "straße"];
    let target = *rng.pick(&options);
    for (from, capital) in [("straße", "Straße"), ("str.", "Str."), ("strasse", "Strasse")] {
        if let Some(at) = street.find(from) {
            return format!("{}{}{}", &street[..at], target, &street[at + from.len()..]);
        }
        if let Some(at) = street.find(capital) {
            let mut replacement = target.to_owned();
            replacement[..1].make_ascii_uppercase();
            return format!("{}{}{}", &street[..at], replacement, &street[at + capital.len()..]);
        }
    }
    street.to_owned()
}

/// An IBAN printed in groups of four, or plain.
pub fn iban_variant(iban: &str, rng: &mut Rng) -> String {
    if rng.chance(0.6) { spaced(iban, 4) } else { iban.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_changes_long_words_only() {
        let mut rng = Rng::new(1);
        assert_eq!(typo("Koch", &mut rng), "Koch");
        let changed = (0..50).filter(|_| typo("Schneider", &mut rng) != "Schneider").count();
        assert!(changed > 40);
        assert!((0..50).all(|_| typo("Schneider", &mut rng).starts_with('S')));
    }

    #[test]
    fn umlauts_both_ways() {
        let mut rng = Rng::new(2);
        let variant = umlaut_variant("Müller", &mut rng);
        assert!(variant == "Mueller" || variant == "Muller", "{variant}");
        assert_eq!(umlaut_variant("Mueller", &mut rng), "Müller");
    }

    #[test]
    fn street_variants() {
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let variant = street_variant("Hauptstraße", &mut rng);
            assert!(["Hauptstr.", "Hauptstrasse", "Hauptstraße"].contains(&variant.as_str()), "{variant}");
            let variant = street_variant("Kurze Straße", &mut rng);
            assert!(variant.starts_with("Kurze Str"), "{variant}");
        }
    }

    #[test]
    fn meter_variants_keep_the_serial() {
        let mut rng = Rng::new(4);
        for _ in 0..20 {
            let variant = meter_variant("1ESY1160669167", &mut rng);
            let compact: String = variant.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            assert!(compact.to_uppercase().ends_with("60669167"), "{variant}");
        }
    }
}
