//! Folding of names, streets and cities into comparison keys.
//!
//! German spells the same name several ways (`Müller`, `Mueller`, and `Muller` from systems
//! that cannot store umlauts), so the fold maps them all to one key. The rule, applied per
//! character after lowercasing:
//!
//! - `ä`, `ö`, `ü` become `a`, `o`, `u`; `ß` becomes `ss`; other Latin diacritics are stripped
//!   (`é` → `e`, `ł` → `l`, `ø` → `o`), `æ`/`œ` become `ae`/`oe`, `þ` becomes `th`, and
//!   combining marks (decomposed umlauts from macOS, `u` + U+0308) are dropped.
//! - An `e` directly after `a`, `o` or `u` in the same word is dropped, so the digraphs
//!   `ae`/`oe`/`ue` meet the umlauts. This also folds names that never had an umlaut
//!   (`Michael` → `michal`, `Samuel` → `samul`, `Joel` → `jol`); that is harmless because the
//!   index and the query fold identically, and a name key is only compared with other keys.
//! - Every character that is neither a letter nor a digit (hyphen, apostrophe, dot, comma, ...)
//!   separates words; words are joined by single spaces (`Müller-Lüdenscheidt` → `muller
//!   ludenscheidt`).
//!
//! All folds are idempotent: folding a key again gives the same key.

/// Folds a name to its comparison key (see the module documentation for the rule).
pub fn fold_name(input: &str) -> String {
    let mut folder = Folder { folded: String::with_capacity(input.len()), at_word_start: true };
    for character in input.chars().flat_map(char::to_lowercase) {
        if ('\u{0300}'..='\u{036F}').contains(&character) {
            continue;
        }
        if let Some(replacement) = fold_latin(character) {
            replacement.chars().for_each(|letter| folder.push(letter));
        } else if character.is_alphanumeric() {
            folder.push(character);
        } else {
            folder.at_word_start = true;
        }
    }
    folder.folded
}

/// The key being built by [`fold_name`].
struct Folder {
    folded: String,
    /// The next letter starts a new word (a separator was seen since the last letter).
    at_word_start: bool,
}

impl Folder {
    fn push(&mut self, letter: char) {
        if self.at_word_start {
            if !self.folded.is_empty() {
                self.folded.push(' ');
            }
        } else if letter == 'e' && self.folded.ends_with(['a', 'o', 'u']) {
            return;
        }
        self.at_word_start = false;
        self.folded.push(letter);
    }
}

/// The words of [`fold_name`]'s key.
pub fn fold_tokens(input: &str) -> Vec<String> {
    fold_name(input).split(' ').filter(|word| !word.is_empty()).map(str::to_owned).collect()
}

/// Folds a street name: [`fold_name`], then the `Straße` family (`straße`, `strasse`, `str.`,
/// `str`, alone or at the end of a word like `Hauptstr.`) becomes `str`, and the `Platz` family
/// (`platz`, `pl.`) becomes `pl`.
///
/// `Hugo-Junkers-Str.`, `Hugo-Junkers-Straße` and `Hugo Junkers Strasse` all give
/// `hugo junkers str`; a compound written as one word (`Hugojunkersstr.`) stays a different key.
pub fn fold_street(input: &str) -> String {
    let folded = fold_name(input);
    let words: Vec<String> = folded
        .split(' ')
        .map(|word| {
            if let Some(stem) = word.strip_suffix("strasse") {
                format!("{stem}str")
            } else if let Some(stem) = word.strip_suffix("platz") {
                format!("{stem}pl")
            } else {
                word.to_owned()
            }
        })
        .collect();
    words.join(" ")
}

/// Folds a city name; the same as [`fold_name`] (`Frankfurt (Oder)` → `frankfurt oder`).
pub fn fold_city(input: &str) -> String {
    fold_name(input)
}

/// Removes leading salutations and titles (`Herr`, `Frau`, `Dr.`, `Prof.`, `Dipl.-Ing.`,
/// `Dr.-Ing.`) from a name, case-insensitively and with or without their dots.
///
/// Only whole whitespace-separated leading words are removed, and never the last word, so a
/// person called `Herr` keeps their name: `Herr Prof. Dr. Anna Schmidt` → `Anna Schmidt`,
/// `Frau Herr` → `Herr`, `Dr.Müller` is left alone. The rest of the input is returned as is
/// (trimmed).
pub fn strip_name_titles(input: &str) -> String {
    let mut rest = input.trim();
    while let Some((word, after)) = rest.split_once(char::is_whitespace) {
        let after = after.trim_start();
        if after.is_empty() || !is_title(word) {
            break;
        }
        rest = after;
    }
    rest.to_owned()
}

fn is_title(word: &str) -> bool {
    let key: String = word.chars().filter(|c| !matches!(c, '.' | '-')).flat_map(char::to_lowercase).collect();
    matches!(key.as_str(), "herr" | "frau" | "dr" | "prof" | "dipling" | "dring")
}

/// The ASCII spelling of a lowercase Latin letter with a diacritic, or `None` for any other
/// character.
fn fold_latin(character: char) -> Option<&'static str> {
    Some(match character {
        'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn umlaut_spellings_meet() {
        for spelling in ["Müller", "Mueller", "Muller", "MÜLLER", "MUELLER", "Mu\u{0308}ller", " müller "]
        {
            assert_eq!(fold_name(spelling), "muller", "{spelling}");
        }
        assert_eq!(fold_name("Strauß"), fold_name("Strauss"));
        assert_eq!(fold_name("Schröder"), fold_name("Schroeder"));
        assert_eq!(fold_name("Jürgen Gößling"), "jurgen gossling");
        assert_eq!(fold_name("Müller-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(fold_name("O'Connor"), "o connor");
        assert_eq!(fold_name("José Łukasz Øster"), "jose lukasz oster");
        assert_eq!(fold_name("Michael Samuel Joel"), "michal samul jol");
        assert_eq!(fold_name("Meyer, Maier"), "meyer maier");
        assert_eq!(fold_name("aee"), "a");
        assert_eq!(fold_name(" -. "), "");
        assert_eq!(fold_tokens("van der  Berg"), ["van", "der", "berg"]);
        assert!(fold_tokens("").is_empty());
        assert_eq!(fold_city("Frankfurt (Oder)"), "frankfurt oder");
    }

    #[test]
    fn street_family_meets() {
        for spelling in
            ["Hugo-Junkers-Str. 5", "Hugo-Junkers-Straße 5", "Hugo Junkers Strasse 5", "hugo-junkers-str 5"]
        {
            assert_eq!(fold_street(spelling), "hugo junkers str 5", "{spelling}");
        }
        for spelling in ["Hauptstraße", "Hauptstrasse", "Hauptstr.", "HAUPTSTR"] {
            assert_eq!(fold_street(spelling), "hauptstr", "{spelling}");
        }
        assert_eq!(fold_street("Lange Str."), fold_street("Lange Straße"));
        assert_eq!(fold_street("Marktplatz"), fold_street("Marktpl."));
        assert_eq!(fold_street("Platz der Republik"), "pl der republik");
        assert_eq!(fold_street("Straßburger Str."), "strassburger str");
    }

    #[test]
    fn titles_are_removed_as_whole_leading_words() {
        assert_eq!(strip_name_titles("Herr Prof. Dr. Anna Schmidt"), "Anna Schmidt");
        assert_eq!(strip_name_titles("Dipl.-Ing. Hans Weber"), "Hans Weber");
        assert_eq!(strip_name_titles("frau dr Meier"), "Meier");
        assert_eq!(strip_name_titles("Dr.-Ing. Fischer"), "Fischer");
        assert_eq!(strip_name_titles("Frau Herr"), "Herr");
        assert_eq!(strip_name_titles("Herr"), "Herr");
        assert_eq!(strip_name_titles("Dr.Müller"), "Dr.Müller");
        assert_eq!(strip_name_titles("Drechsler Hans"), "Drechsler Hans");
        assert_eq!(strip_name_titles("Anna Dr. Schmidt"), "Anna Dr. Schmidt");
        assert_eq!(strip_name_titles("   "), "");
    }

    /// A name made of German syllables, some with umlauts or ß.
    fn german_name() -> impl Strategy<Value = String> {
        let syllable = prop::sample::select(vec![
            "Mü", "ller", "Schrö", "der", "Bä", "cker", "Grü", "ne", "Strau", "ß", "Kö", "nig", "Lü", "den",
            "scheidt", "Hö", "fer", "Wei", "ß", "mann", "Jür", "gen", "Gö", "ring", "Tä", "ger",
        ]);
        prop::collection::vec(prop::collection::vec(syllable, 1..4), 1..4)
            .prop_map(|words| words.iter().map(|word| word.concat()).collect::<Vec<_>>().join(" "))
    }

    /// Renders umlauts and ß the ways systems without umlauts do, and changes case/separators.
    fn render(name: &str, style: usize) -> String {
        let digraphs = || name.replace('ä', "ae").replace('ö', "oe").replace('ü', "ue").replace('ß', "ss");
        match style {
            0 => digraphs(),
            1 => name.replace('ä', "a").replace('ö', "o").replace('ü', "u").replace('ß', "ss"),
            2 => name.to_uppercase(),
            3 => digraphs().to_uppercase().replace(' ', "-"),
            _ => format!("  {}  ", name.replace(' ', " - ")),
        }
    }

    proptest! {
        #[test]
        fn every_umlaut_spelling_folds_alike(name in german_name(), style in 0usize..5) {
            prop_assert_eq!(fold_name(&render(&name, style)), fold_name(&name));
            let street = format!("{name}straße");
            prop_assert_eq!(fold_street(&render(&street, style)), fold_street(&format!("{name}str.")));
        }

        #[test]
        fn folds_are_idempotent_and_never_panic(input in ".*") {
            let name = fold_name(&input);
            prop_assert_eq!(fold_name(&name), name.clone());
            prop_assert_eq!(fold_tokens(&input).join(" "), name);
            let street = fold_street(&input);
            prop_assert_eq!(fold_street(&street), street);
            let stripped = strip_name_titles(&input);
            prop_assert_eq!(strip_name_titles(&stripped), stripped);
        }
    }
}
