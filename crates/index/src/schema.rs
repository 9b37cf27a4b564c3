//! The tantivy schema: which field holds what, and how it is indexed.
//!
//! Keys are indexed without positions, frequencies or field norms (they only need to be found);
//! text fields keep frequencies and norms for BM25. Nothing but the payload is stored; the
//! customer id is also a fast column.

use tantivy::schema::{
    BytesOptions, FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analysis::{NAME_ANALYSER, STREET_ANALYSER};

/// Tags of the reversed keys in [`Fields::reversed`].
pub mod reversed_tag {
    /// Meter number.
    pub const METER: char = 'm';
    /// Phone digits (E.164 without `+`).
    pub const PHONE: char = 'p';
    /// IBAN.
    pub const IBAN: char = 'i';
}

/// Tags of the edge n-grams in [`Fields::prefix`].
pub mod prefix_tag {
    /// Words of the person's names.
    pub const NAME: char = 'n';
    /// Words of the company name.
    pub const COMPANY: char = 'c';
    /// Words of the street.
    pub const STREET: char = 's';
    /// Words of the city.
    pub const CITY: char = 't';
}

/// Handles of every field of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The exact contract id: the primary key (updates and deletes go by it).
    pub id: Field,
    /// The contract id and the variants people type (`VN-0012345` → `12345`).
    pub contract_key: Field,
    /// The exact customer id (all contracts of a customer); also a fast column, so that hits are
    /// grouped by customer without decoding stored documents.
    pub customer_id: Field,
    /// The customer id variants.
    pub customer_key: Field,
    /// The record's source ("powercloud", "import").
    pub source: Field,
    /// Normalised email.
    pub email: Field,
    /// Phones in E.164.
    pub phone: Field,
    /// Normalised IBAN.
    pub iban: Field,
    /// Normalised meter number.
    pub meter: Field,
    /// MaLo-ID.
    pub malo: Field,
    /// MeLo-ID.
    pub melo: Field,
    /// Postcode of the delivery address.
    pub zip: Field,
    /// Reversed, tagged keys for suffix search (meter, phone, IBAN).
    pub reversed: Field,
    /// First and last name (name analyser).
    pub name: Field,
    /// Company (name analyser).
    pub company: Field,
    /// Street and house number (street analyser).
    pub street: Field,
    /// City (name analyser).
    pub city: Field,
    /// Tagged edge n-grams of the words of names, company, street and city.
    pub prefix: Field,
    /// The stored contract (postcard).
    pub payload: Field,
}

/// Name of the customer id field (and its fast column).
pub const CUSTOMER_ID: &str = "customer_id";

fn text(analyser: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(analyser).set_index_option(IndexRecordOption::WithFreqs),
    )
}

fn key() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    )
}

impl Fields {
    /// Builds the schema and its field handles.
    pub fn build() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let fields = Fields {
            id: builder.add_text_field("id", STRING),
            contract_key: builder.add_text_field("contract_key", key()),
            customer_id: builder.add_text_field(CUSTOMER_ID, STRING | FAST),
            customer_key: builder.add_text_field("customer_key", key()),
            source: builder.add_text_field("source", STRING),
            email: builder.add_text_field("email", key()),
            phone: builder.add_text_field("phone", key()),
            iban: builder.add_text_field("iban", key()),
            meter: builder.add_text_field("meter", key()),
            malo: builder.add_text_field("malo", key()),
            melo: builder.add_text_field("melo", key()),
            zip: builder.add_text_field("zip", key()),
            reversed: builder.add_text_field("reversed", key()),
            name: builder.add_text_field("name", text(NAME_ANALYSER)),
            company: builder.add_text_field("company", text(NAME_ANALYSER)),
            street: builder.add_text_field("street", text(STREET_ANALYSER)),
            city: builder.add_text_field("city", text(NAME_ANALYSER)),
            prefix: builder.add_text_field("prefix", key()),
            payload: builder.add_bytes_field("payload", BytesOptions::default().set_stored()),
        };
        (builder.build(), fields)
    }

    /// The field handles of an existing index's schema (fails if the schema is not ours).
    pub fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let get = |name: &str| schema.get_field(name);
        Ok(Fields {
            id: get("id")?,
            contract_key: get("contract_key")?,
            customer_id: get("customer_id")?,
            customer_key: get("customer_key")?,
            source: get("source")?,
            email: get("email")?,
            phone: get("phone")?,
            iban: get("iban")?,
            meter: get("meter")?,
            malo: get("malo")?,
            melo: get("melo")?,
            zip: get("zip")?,
            reversed: get("reversed")?,
            name: get("name")?,
            company: get("company")?,
            street: get("street")?,
            city: get("city")?,
            prefix: get("prefix")?,
            payload: get("payload")?,
        })
    }
}
