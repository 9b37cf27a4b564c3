//! Email addresses to a lowercase key.
//!
//! Agents paste addresses from mail clients (`<anna@example.de>`, `mailto:anna@example.de`) and
//! customers capitalise them at will. The key is the trimmed address without a `mailto:` prefix
//! or surrounding angle brackets, lowercased as a whole. Local parts are case-sensitive in theory
//! but not in practice at any German mail provider, so lowercasing them makes matching reliable.
//! No attempt is made at full RFC 5322 validation: the address must have exactly one `@`, a
//! non-empty local part, a domain of dot-separated non-empty labels with at least one dot, and
//! no whitespace or control characters.

use super::{NormalizeError, ValueKind};

/// Normalises an email address: trim, strip `mailto:` and `<...>`, lowercase, basic shape check.
///
/// The key is a valid input and normalises to itself.
pub fn normalize_email(input: &str) -> Result<String, NormalizeError> {
    let mut address = input.trim();
    // Strip wrappers until none is left, so that the key never starts with one (idempotence).
    loop {
        if let Some(inner) = address.strip_prefix('<').and_then(|rest| rest.strip_suffix('>')) {
            address = inner.trim();
        } else if address.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("mailto:")) {
            address = address[7..].trim();
        } else {
            break;
        }
    }
    if address.is_empty() {
        return Err(NormalizeError::Empty);
    }
    if let Some(character) =
        address.chars().find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
    {
        return Err(NormalizeError::InvalidCharacter { kind: ValueKind::Email, character });
    }
    let num_at_signs = address.matches('@').count();
    let Some((local, domain)) = address.split_once('@').filter(|_| num_at_signs == 1) else {
        return Err(NormalizeError::EmailAtSigns { num_at_signs });
    };
    if local.is_empty() {
        return Err(NormalizeError::EmailEmptyLocalPart);
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(NormalizeError::EmailInvalidDomain);
    }
    Ok(address.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wrappers_and_case_are_removed() {
        for spelling in [
            "anna.mueller@example.de",
            "  Anna.Mueller@Example.DE ",
            "<anna.mueller@example.de>",
            "mailto:anna.mueller@example.de",
            "MAILTO:<Anna.Mueller@example.de>",
            "<mailto:anna.mueller@example.de>",
        ] {
            assert_eq!(normalize_email(spelling).as_deref(), Ok("anna.mueller@example.de"), "{spelling}");
        }
    }

    #[test]
    fn malformed_addresses_say_why() {
        assert_eq!(normalize_email("  "), Err(NormalizeError::Empty));
        assert_eq!(normalize_email("mailto:"), Err(NormalizeError::Empty));
        assert_eq!(normalize_email("anna.example.de"), Err(NormalizeError::EmailAtSigns { num_at_signs: 0 }));
        assert_eq!(normalize_email("a@b@example.de"), Err(NormalizeError::EmailAtSigns { num_at_signs: 2 }));
        assert_eq!(normalize_email("@example.de"), Err(NormalizeError::EmailEmptyLocalPart));
        assert_eq!(normalize_email("anna@localhost"), Err(NormalizeError::EmailInvalidDomain));
        assert_eq!(normalize_email("anna@example."), Err(NormalizeError::EmailInvalidDomain));
        assert_eq!(normalize_email("anna@.de"), Err(NormalizeError::EmailInvalidDomain));
        assert_eq!(normalize_email("anna@"), Err(NormalizeError::EmailInvalidDomain));
        assert_eq!(
            normalize_email("anna m@example.de"),
            Err(NormalizeError::InvalidCharacter { kind: ValueKind::Email, character: ' ' })
        );
    }

    #[test]
    fn unicode_is_lowercased_too() {
        assert_eq!(normalize_email("JÖRG@Müller.DE").as_deref(), Ok("jörg@müller.de"));
    }

    proptest! {
        #[test]
        fn every_wrapping_gives_the_same_key(
            local in "[A-Za-z0-9._%+-]{1,12}",
            labels in prop::collection::vec("[A-Za-z0-9-]{1,8}", 2..4),
            wrapping in 0usize..4,
        ) {
            let address = format!("{local}@{}", labels.join("."));
            let key = normalize_email(&address).unwrap();
            prop_assert_eq!(&key, &address.to_lowercase());
            let wrapped = match wrapping {
                0 => format!(" {} ", address.to_uppercase()),
                1 => format!("<{address}>"),
                2 => format!("mailto:{address}"),
                _ => format!("Mailto:<{address}>"),
            };
            prop_assert_eq!(normalize_email(&wrapped), Ok(key.clone()));
            prop_assert_eq!(normalize_email(&key), Ok(key));
        }

        #[test]
        fn never_panics_and_is_idempotent(input in ".*") {
            if let Ok(key) = normalize_email(&input) {
                prop_assert_eq!(normalize_email(&key), Ok(key));
            }
        }
    }
}
