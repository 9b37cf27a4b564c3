//! Normalisers: pure functions that map every spelling of a value to one comparable key.
//!
//! The index and the query side call the same function, so a key only has to be *consistent*,
//! not pretty: `0171/1234567` and `+49 (0)171 1234567` both become `+491711234567`, `Müller` and
//! `Mueller` both become `muller`. Each submodule handles one kind of value and documents the
//! exact rule it applies; all functions are free of I/O and never panic, whatever the input.
//! Validating normalisers return [`NormalizeError`], whose messages say what was wrong without
//! repeating the (personal) value itself.

mod address;
mod email;
mod iban;
mod ids;
mod meter;
mod phone;
mod text;

use std::fmt;

pub use address::{ParsedAddress, format_address, parse_address};
pub use email::normalize_email;
pub use iban::{format_iban_groups, iban_check_digits, normalize_iban};
pub use ids::{canonical_id, id_variants, malo_check_digit, normalize_malo, normalize_melo};
pub use meter::{DinMeterNumber, normalize_meter, parse_din_meter};
pub use phone::{normalize_phone, normalize_phone_parts};
pub use text::{fold_city, fold_name, fold_street, fold_tokens, strip_name_titles};

/// The kind of value a [`NormalizeError`] is about; its `Display` is the plain-word name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// An IBAN.
    Iban,
    /// A meter number (Zählernummer).
    Meter,
    /// A market location id (MaLo-ID).
    Malo,
    /// A metering point id (MeLo-ID).
    Melo,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ValueKind::Phone => "phone number",
            ValueKind::Email => "email address",
            ValueKind::Iban => "IBAN",
            ValueKind::Meter => "meter number",
            ValueKind::Malo => "MaLo-ID",
            ValueKind::Melo => "MeLo-ID",
        })
    }
}

/// A value that cannot be normalised. Always the caller's fault (bad input).
///
/// Messages name the problem, never the whole value: phone numbers, emails and IBANs are
/// personal data and errors end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The input is empty after trimming (and after removing separators).
    #[error("empty value")]
    Empty,
    /// The input contains a character that this kind of value never contains.
    #[error("{kind} contains the character {character:?}, which is not allowed there")]
    InvalidCharacter {
        /// What was being normalised.
        kind: ValueKind,
        /// The first offending character.
        character: char,
    },
    /// A phone number with too few digits after its country code to be a real number.
    #[error(
        "phone number has {num_digits} digits after the country code, at least {min} are needed",
        min = crate::normalize::phone::MIN_NATIONAL_DIGITS
    )]
    PhoneTooShort {
        /// Digits of the national significant number.
        num_digits: usize,
    },
    /// A phone number longer than E.164 allows.
    #[error("phone number has {num_digits} digits, E.164 allows at most 15 including the country code")]
    PhoneTooLong {
        /// Digits of the number (including the country code where it has one).
        num_digits: usize,
    },
    /// The phone number library rejected the number (for example an unknown country code).
    #[error("phone number cannot be parsed: {reason}")]
    PhoneUnparseable {
        /// The phone number library's explanation.
        reason: String,
    },
    /// An email address without exactly one `@`.
    #[error("email address must contain exactly one `@`, found {num_at_signs}")]
    EmailAtSigns {
        /// How many `@` the input has.
        num_at_signs: usize,
    },
    /// An email address with nothing before the `@`.
    #[error("email address has nothing before the `@`")]
    EmailEmptyLocalPart,
    /// An email domain that is not `label.label[...]`.
    #[error("email domain must consist of non-empty labels separated by dots, with at least one dot")]
    EmailInvalidDomain,
    /// An IBAN that does not start with two letters and two check digits.
    #[error("IBAN must start with a two-letter country code followed by two check digits")]
    IbanPrefix,
    /// An IBAN whose country code has no IBAN format.
    #[error("IBAN country code {country:?} is not a country that uses IBANs")]
    IbanUnknownCountry {
        /// The two letters the IBAN starts with.
        country: String,
    },
    /// An IBAN of the wrong length for its country.
    #[error("IBAN for country {country} must have {expected} characters, found {found}")]
    IbanLength {
        /// The IBAN's country code.
        country: String,
        /// The length that country's IBANs have.
        expected: usize,
        /// The length of the input (without separators).
        found: usize,
    },
    /// An IBAN whose check digits do not match (ISO 13616 mod 97): a typo in the number.
    #[error("IBAN check digits do not match the rest of the IBAN (ISO 13616 mod 97)")]
    IbanChecksum,
    /// An IBAN whose account part (BBAN) does not follow its country's letters/digits pattern.
    #[error("IBAN account part does not follow the format of country {country}")]
    IbanBbanFormat {
        /// The IBAN's country code.
        country: String,
    },
    /// A MaLo-ID that is not 11 digits long.
    #[error("MaLo-ID must have 11 digits, found {found} characters")]
    MaloLength {
        /// Characters in the input (without spaces).
        found: usize,
    },
    /// A MaLo-ID starting with 0.
    #[error("MaLo-ID must not start with 0")]
    MaloLeadingZero,
    /// A MaLo-ID whose last digit is not the check digit of the first ten.
    #[error("MaLo-ID check digit is {found}, but the first ten digits give {expected}")]
    MaloCheckDigit {
        /// The check digit computed from the first ten digits.
        expected: u8,
        /// The last digit of the input.
        found: u8,
    },
    /// A MeLo-ID that is not 33 characters long.
    #[error("MeLo-ID must have 33 characters, found {found}")]
    MeloLength {
        /// Characters in the input (without spaces).
        found: usize,
    },
    /// A MeLo-ID with a letter where a digit belongs, or the other way round.
    #[error("MeLo-ID character {position} must be {expected}")]
    MeloFormat {
        /// 1-based position of the offending character.
        position: usize,
        /// What belongs there, in words ("a letter", "a digit", "a letter or digit").
        expected: &'static str,
    },
}
