//! The mapping against checked-in raw records (`data/fixtures/powercloud/`), field by field, and
//! its edges (missing ids, odd shapes, phone fallbacks).

use serde_json::{Value, json};

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/fixtures/powercloud/",
            $name
        )))
        .unwrap()
    };
}

fn options() -> MappingOptions {
    MappingOptions {
        source: "powercloud".to_owned(),
        erp_url_template: Some("https://app.powercloud.de/contract/{id}".to_owned()),
    }
}

fn plain_options() -> MappingOptions {
    MappingOptions { source: "powercloud".to_owned(), erp_url_template: None }
}

fn text(value: &str) -> Option<String> {
    Some(value.to_owned())
}

fn extra(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect()
}

#[test]
fn private_contract() {
    let contract = map_contract(&fixture!("contract_private.json"), &options()).unwrap();
    assert_eq!(contract.id, "746839");
    assert_eq!(contract.customer_id, "123");
    assert!(!contract.business);
    assert_eq!(contract.firstname, text("Jürgen"));
    assert_eq!(contract.lastname, text("Müller-Lüdenscheidt"));
    assert_eq!(contract.company, None);
    assert_eq!(contract.email, text("juergen.mueller@example.de"));
    // The mobile wins over the home phone; the mobile's whole number is in the number field.
    assert_eq!(contract.phone, text("+491712345678"));
    assert_eq!(contract.delivery_address, text("Hugo-Junkers-Str. 5, 82031 Grünwald"));
    assert_eq!(contract.zip, text("82031"));
    assert_eq!(contract.billing_address, None);
    assert_eq!(contract.status, text("active"));
    assert_eq!(contract.energy, text("electricity"));
    assert_eq!(contract.counter_number, text("1ESY1160669167"));
    assert_eq!(contract.malo_id, text("41373559241"));
    assert_eq!(contract.melo_id, text("DE0011122233344455566677788899900"));
    assert_eq!(contract.iban, text("DE89370400440532013000"));
    assert_eq!(contract.monthly_deposit, Some(53.0));
    assert_eq!(contract.consumption, Some(3477));
    assert_eq!(contract.product_name, text("Flex 24"));
    assert_eq!(contract.product_code, text("flx_24"));
    assert_eq!(contract.signup_date, Some(1_660_521_600));
    assert_eq!(contract.start_date, Some(1_661_990_400));
    assert_eq!(contract.end_date, None);
    assert_eq!(contract.source, text("powercloud"));
    assert_eq!(
        contract.erp_urls,
        [ErpUrl { url: "https://app.powercloud.de/contract/746839".to_owned(), icon: text("powercloud") }]
    );
    assert!(contract.agent_preview.is_empty());
    assert_eq!(
        contract.extra,
        extra(&[
            ("salutation", json!("Herr")),
            ("customerNumber", json!("K-000123")),
            ("dateOfBirth", json!("1965-03-14")),
            ("otherPhones", json!(["+49891234567"])),
        ])
    );
    contract.validate().unwrap();
}

#[test]
fn business_contract_without_contact_person() {
    let contract =
        map_contract(&fixture!("contract_business_without_contact.json"), &plain_options()).unwrap();
    assert_eq!(contract.id, "30000042");
    assert_eq!(contract.customer_id, "10000017");
    assert!(contract.business);
    assert_eq!(contract.firstname, None);
    assert_eq!(contract.lastname, None);
    assert_eq!(contract.company, text("Bäckerei Schmidt GmbH & Co. KG"));
    assert_eq!(contract.email, text("buchhaltung@baeckerei-schmidt.de"));
    assert_eq!(contract.phone, text("+493514567890"));
    // The postcode came as the number 1067 and gets its leading zero back.
    assert_eq!(contract.delivery_address, text("Königsbrücker Straße 15a, 01067 Dresden"));
    assert_eq!(contract.zip, text("01067"));
    assert_eq!(contract.billing_address, None);
    assert_eq!(contract.status, text("active"));
    assert_eq!(contract.energy, text("gas"));
    assert_eq!(contract.counter_number, text("7ITR2012345678"));
    assert_eq!(contract.malo_id, text("51238696781"));
    assert_eq!(contract.melo_id, None);
    assert_eq!(contract.iban, text("DE02120300000000202051"));
    assert_eq!(contract.monthly_deposit, Some(412.5));
    assert_eq!(contract.consumption, Some(48_000));
    assert_eq!(contract.product_name, text("Gas Business 12"));
    assert_eq!(contract.product_code, text("gas_business_12"));
    assert_eq!(contract.signup_date, Some(1_698_883_200));
    assert_eq!(contract.start_date, Some(1_704_067_200));
    assert_eq!(contract.end_date, None);
    assert!(contract.erp_urls.is_empty());
    assert!(contract.extra.is_empty(), "{:?}", contract.extra);
    contract.validate().unwrap();
}

#[test]
fn contract_with_billing_address_and_split_phone() {
    let contract = map_contract(&fixture!("contract_billing_address_split_phone.json"), &options()).unwrap();
    assert_eq!(contract.id, "30000107");
    assert_eq!(contract.customer_id, "10000051");
    assert!(!contract.business);
    assert_eq!(contract.firstname, text("Anna"));
    assert_eq!(contract.lastname, text("von der Heide"));
    assert_eq!(contract.company, None);
    assert_eq!(contract.email, text("anna.vonderheide@web.de"));
    assert_eq!(contract.phone, text("+491711234567"));
    assert_eq!(contract.delivery_address, text("Hauptstraße 3-5, 10115 Berlin"));
    assert_eq!(contract.zip, text("10115"));
    assert_eq!(contract.billing_address, text("Rechnungsstraße 24, 10587 Berlin"));
    assert_eq!(contract.status, text("terminated"));
    assert_eq!(contract.energy, text("electricity"));
    // Meter numbers stay as written; the index normalises them.
    assert_eq!(contract.counter_number, text("1 EMH 11 60669167"));
    assert_eq!(contract.malo_id, text("97149628801"));
    assert_eq!(contract.iban, text("DE89370400440532013000"));
    assert_eq!(contract.monthly_deposit, Some(68.0));
    assert_eq!(contract.consumption, Some(2150));
    assert_eq!(contract.product_name, text("Öko Strom 12"));
    assert_eq!(contract.signup_date, Some(1_581_292_800));
    assert_eq!(contract.start_date, Some(1_585_699_200));
    assert_eq!(contract.end_date, Some(1_711_843_200));
    assert_eq!(contract.erp_urls[0].url, "https://app.powercloud.de/contract/30000107");
    assert_eq!(contract.extra, extra(&[("salutation", json!("Frau")), ("dateOfBirth", json!("1988-11-30"))]));
    contract.validate().unwrap();
}

#[test]
fn contract_with_international_phone_and_invalid_values() {
    let contract = map_contract(&fixture!("contract_international_phone.json"), &plain_options()).unwrap();
    assert_eq!(contract.id, "30000230");
    assert_eq!(contract.customer_id, "10000099");
    // No `business` flag: a surname and no company make a private person.
    assert!(!contract.business);
    assert_eq!(contract.firstname, text("Max"));
    assert_eq!(contract.lastname, text("Mustermann"));
    // Not a valid address: kept as written rather than dropped.
    assert_eq!(contract.email, text("max.mustermann(at)gmx.de"));
    assert_eq!(contract.phone, text("+491711234567"));
    assert_eq!(contract.delivery_address, text("Am Markt 1, 04109 Leipzig"));
    assert_eq!(contract.zip, text("04109"));
    // Check digits do not match: compacted, not dropped.
    assert_eq!(contract.iban, text("DE89370400440532013001"));
    assert_eq!(contract.energy, text("electricity"));
    assert_eq!(contract.counter_number, text("60669167"));
    assert_eq!(contract.malo_id, None);
    assert_eq!(contract.monthly_deposit, Some(45.5));
    assert_eq!(contract.consumption, Some(1800));
    assert_eq!(contract.status, text("pending"));
    assert_eq!(contract.start_date, Some(1_798_761_600));
    // PHP's "no date".
    assert_eq!(contract.end_date, None);
    assert_eq!(contract.extra, extra(&[("salutation", json!("Herr"))]));
}

#[test]
fn customer_with_two_contracts() {
    let customer = map_customer(&fixture!("customer_with_two_contracts.json"), &options()).unwrap();
    assert_eq!(customer.id, "10000051");
    assert!(!customer.business);
    assert_eq!(customer.salutation, text("Frau"));
    assert_eq!(customer.firstname, text("Anna"));
    assert_eq!(customer.lastname, text("von der Heide"));
    assert_eq!(customer.company, None);
    assert_eq!(customer.email, text("anna.vonderheide@web.de"));
    assert_eq!(customer.phone, text("+491711234567"));
    assert_eq!(customer.delivery_address, text("Hauptstraße 3-5, 10115 Berlin"));
    assert_eq!(customer.billing_address, text("Rechnungsstraße 24, 10587 Berlin"));
    assert_eq!(customer.contract_ids, ["30000107", "30000108"]);
    assert_eq!(customer.source, text("powercloud"));
    assert_eq!(
        customer.extra,
        extra(&[("dateOfBirth", json!("1988-11-30")), ("otherPhones", json!(["+49309876543"]))])
    );
    customer.validate().unwrap();
}

#[test]
fn records_without_ids_are_mapping_errors_naming_the_field() {
    let error = map_contract(&json!({"id": 5, "data": {"surname": "Weber"}}), &options()).unwrap_err();
    assert_eq!(error.to_string(), "contract record 5: field `customerId` is missing or empty");
    let error = map_contract(&json!({"data": {"customerId": 7}}), &options()).unwrap_err();
    assert_eq!(error.to_string(), "contract record without id: field `id` is missing or empty");
    let error = map_contract(&json!({"id": "  ", "data": {"customerId": 7}}), &options()).unwrap_err();
    assert_eq!(error.field, "id");
    let error =
        map_contract(&json!({"id": "9".repeat(51), "data": {"customerId": 7}}), &options()).unwrap_err();
    assert_eq!(error.reason, "is longer than 50 characters");
    let error = map_contract(&json!([1, 2]), &options()).unwrap_err();
    assert_eq!(error.record_id, None);
    let error = map_customer(&json!({"id": 7, "data": {"surname": "Weber", "contracts": []}}), &options())
        .unwrap_err();
    assert_eq!(error.to_string(), "customer record 7: field `contracts` holds no contract id");
}

#[test]
fn a_record_with_only_its_ids_maps() {
    let contract = map_contract(&json!({"id": 1, "data": {"customerId": 2}}), &plain_options()).unwrap();
    let expected = Contract {
        id: "1".to_owned(),
        customer_id: "2".to_owned(),
        source: text("powercloud"),
        ..Contract::default()
    };
    assert_eq!(contract, expected);
}

#[test]
fn flat_records_and_alternative_field_names_are_read() {
    let record = json!({"id": 3, "customerId": 4, "lastName": "Weber", "firstname": "Eva", "monthlyDeposit": "39",
        "consumption": 1200, "startDate": "2024-01-01", "endDate": "31.12.2024", "phone": "0171 1234567"});
    let contract = map_contract(&record, &plain_options()).unwrap();
    assert_eq!((contract.id.as_str(), contract.customer_id.as_str()), ("3", "4"));
    assert_eq!(contract.lastname, text("Weber"));
    assert_eq!(contract.firstname, text("Eva"));
    assert_eq!(contract.monthly_deposit, Some(39.0));
    assert_eq!(contract.consumption, Some(1200));
    assert_eq!(contract.start_date, Some(1_704_067_200));
    assert_eq!(contract.end_date, Some(1_735_603_200));
    assert_eq!(contract.phone, text("+491711234567"));
}

#[test]
fn phones_prefer_one_that_normalises() {
    let record = |data: Value| json!({"id": 1, "data": data});
    let map = |data: Value| map_contract(&record(data), &plain_options()).unwrap();
    // An unparseable mobile gives way to a parseable home phone.
    let contract = map(
        json!({"customerId": 2, "phoneMobile": "ruft zurück", "phoneHomeAreaCode": "89", "phoneHome": "1234567"}),
    );
    assert_eq!(contract.phone, text("+49891234567"));
    assert!(!contract.extra.contains_key("otherPhones"));
    // Nothing parses: the first number as written.
    let contract =
        map(json!({"customerId": 2, "phoneMobileAreaCode": "0171", "phoneMobile": "12 34 56 7 ext"}));
    assert_eq!(contract.phone, text("0171 12 34 56 7 ext"));
    // The same number twice is one phone.
    let contract =
        map(json!({"customerId": 2, "phoneMobile": "+49 171 1234567", "phoneHome": "01711234567"}));
    assert_eq!(contract.phone, text("+491711234567"));
    assert!(!contract.extra.contains_key("otherPhones"));
    // Integer phones as enneo stores them.
    let contract = map(json!({"customerId": 2, "phoneMobile": 491711234567_u64}));
    assert_eq!(contract.phone, text("+491711234567"));
}

#[test]
fn business_is_inferred_when_the_flag_is_missing() {
    let contract =
        map_contract(&json!({"id": 1, "data": {"customerId": 2, "company": "ACME GmbH"}}), &options())
            .unwrap();
    assert!(contract.business);
    let contract = map_contract(
        &json!({"id": 1, "data": {"customerId": 2, "company": "ACME GmbH", "surname": "Weber", "business": "0"}}),
        &options(),
    )
    .unwrap();
    assert!(!contract.business);
}

#[test]
fn customer_contract_lists_in_every_shape() {
    let customer = |contracts: Value| {
        map_customer(&json!({"id": 9, "data": {"surname": "Weber", "contracts": contracts}}), &options())
            .unwrap()
            .contract_ids
    };
    assert_eq!(customer(json!([1, "2", {"id": 3}, {"id": "4"}, 1, null, ""])), ["1", "2", "3", "4"]);
    let flat = map_customer(&json!({"id": 9, "surname": "Weber", "contractIds": ["7"]}), &options()).unwrap();
    assert_eq!(flat.contract_ids, ["7"]);
}

#[test]
fn erp_url_template_fills_both_ids() {
    let options = MappingOptions {
        source: "powercloud-nord".to_owned(),
        erp_url_template: Some("https://erp.example/c/{customerId}/contract/{id}".to_owned()),
    };
    let contract = map_contract(&json!({"id": 1, "data": {"customerId": 2}}), &options).unwrap();
    assert_eq!(
        contract.erp_urls,
        [ErpUrl { url: "https://erp.example/c/2/contract/1".to_owned(), icon: text("powercloud-nord") }]
    );
    assert_eq!(contract.source, text("powercloud-nord"));
}
