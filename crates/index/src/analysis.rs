//! The analysers: German folding as a tantivy token filter, and the same analysis as plain
//! functions for the query side, so a query term is always normalised exactly as the index was.
//!
//! tantivy does not store tokenizers in the index: [`register_tokenizers`] must run after every
//! `Index::create_*` and `Index::open_*`, or searches fail with "No Tokenizer found for field".

use std::mem;

use contract_search_model::normalize::{fold_name, fold_street};
use tantivy::Index;
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// Analyser of names, companies and cities: split on non-alphanumerics, lowercase, German fold
/// (`Müller`, `Mueller`, `Muller` → `muller`).
pub const NAME_ANALYSER: &str = "cs_name";
/// Analyser of streets: as names, and `Straße`/`Strasse`/`Str.` → `str`.
pub const STREET_ANALYSER: &str = "cs_street";
/// Longest token kept, in bytes (longer ones are noise, not names).
pub const MAX_TOKEN_BYTES: usize = 48;
/// Shortest edge n-gram indexed for search-as-you-type.
pub const MIN_PREFIX_CHARS: usize = 2;
/// Longest edge n-gram indexed; longer typed prefixes use a prefix automaton, which is cheap
/// once the prefix is this long.
pub const MAX_PREFIX_CHARS: usize = 6;

/// A token filter applying a folding function to every token.
#[derive(Clone, Copy)]
pub struct FoldFilter {
    fold: fn(&str) -> String,
}

impl TokenFilter for FoldFilter {
    type Tokenizer<T: Tokenizer> = FoldTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> FoldTokenizer<T> {
        FoldTokenizer { tokenizer, fold: self.fold }
    }
}

/// The tokenizer produced by [`FoldFilter`].
#[derive(Clone)]
pub struct FoldTokenizer<T> {
    tokenizer: T,
    fold: fn(&str) -> String,
}

impl<T: Tokenizer> Tokenizer for FoldTokenizer<T> {
    type TokenStream<'a> = FoldTokenStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        FoldTokenStream { tail: self.tokenizer.token_stream(text), fold: self.fold }
    }
}

/// The token stream produced by [`FoldFilter`].
pub struct FoldTokenStream<T> {
    tail: T,
    fold: fn(&str) -> String,
}

impl<T: TokenStream> TokenStream for FoldTokenStream<T> {
    fn advance(&mut self) -> bool {
        loop {
            if !self.tail.advance() {
                return false;
            }
            let folded = (self.fold)(&self.tail.token().text);
            // Folding a single alphanumeric token never yields spaces; drop what folds to nothing.
            if !folded.is_empty() {
                let _ = mem::replace(&mut self.tail.token_mut().text, folded);
                return true;
            }
        }
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

fn analyser(fold: fn(&str) -> String) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(FoldFilter { fold })
        .build()
}

/// Registers the custom analysers on an index. Call after every create or open.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(NAME_ANALYSER, analyser(fold_name));
    index.tokenizers().register(STREET_ANALYSER, analyser(fold_street));
}

fn tokens_with(mut analyser: TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyser.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        tokens.push(stream.token().text.clone());
    }
    tokens
}

/// The terms the name analyser makes of `text` (names, companies, cities).
pub fn name_tokens(text: &str) -> Vec<String> {
    tokens_with(analyser(fold_name), text)
}

/// The terms the street analyser makes of `text`.
pub fn street_tokens(text: &str) -> Vec<String> {
    tokens_with(analyser(fold_street), text)
}

/// Edge n-grams of a folded token for the prefix field, tagged with the field they come from:
/// `tag` + prefix, for prefixes of [`MIN_PREFIX_CHARS`] up to [`MAX_PREFIX_CHARS`] characters
/// that are shorter than the token (the whole token is in the text field already).
pub fn edge_grams(tag: char, token: &str, out: &mut Vec<String>) {
    let boundaries: Vec<usize> = token.char_indices().map(|(at, _)| at).skip(1).collect();
    for (num_chars, &end) in boundaries.iter().enumerate().map(|(index, end)| (index + 1, end)) {
        if num_chars < MIN_PREFIX_CHARS {
            continue;
        }
        if num_chars > MAX_PREFIX_CHARS {
            break;
        }
        let mut gram = String::with_capacity(end + 1);
        gram.push(tag);
        gram.push_str(&token[..end]);
        out.push(gram);
    }
}

/// A key reversed and tagged, for suffix search with a term range (`tag` + reversed key).
pub fn reversed_key(tag: char, key: &str) -> String {
    std::iter::once(tag).chain(key.chars().rev()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umlaut_spellings_meet() {
        assert_eq!(name_tokens("Müller"), name_tokens("Mueller"));
        assert_eq!(name_tokens("Müller"), name_tokens("MULLER"));
        assert_eq!(name_tokens("Groß-Schäfer"), name_tokens("Gross Schaefer"));
    }

    #[test]
    fn street_spellings_meet() {
        let expected = street_tokens("Hauptstraße 5");
        assert_eq!(street_tokens("Hauptstr. 5"), expected);
        assert_eq!(street_tokens("Hauptstrasse 5"), expected);
        assert_eq!(street_tokens("hauptstr 5"), expected);
    }

    #[test]
    fn edge_grams_are_bounded() {
        let mut grams = Vec::new();
        edge_grams('n', "schneider", &mut grams);
        assert_eq!(grams, ["nsc", "nsch", "nschn", "nschne", "nschnei"]);
        grams.clear();
        edge_grams('n', "ab", &mut grams);
        assert!(grams.is_empty());
        edge_grams('n', "äbc", &mut grams);
        assert_eq!(grams, ["näb"]);
    }

    #[test]
    fn reversed_keys() {
        assert_eq!(reversed_key('m', "1ESY1160669167"), "m7619660611YSE1");
    }
}
