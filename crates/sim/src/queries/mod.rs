//! Labelled queries with ground truth: what enneo's AI extracts from messages (fields search) and
//! what agents type (free text), with realistic noise, plus people who are not in the data and
//! ambiguous cases. Every query carries its category so quality can be reported per category.
//!
//! Labels are exact: a findable query is built from information that identifies one customer
//! (checked against [`truth::TruthCounts`]), an ambiguous one from information two customers
//! share, an absent one from information no customer has.

pub mod noise;
pub mod truth;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::noise::*;
use self::truth::{KeyKind, TruthCounts, company_keys, key, name_keys};
use crate::generate::{
    Address, Generator, Relation, SimContract, SimCustomer, random_address, random_first_name, random_surname,
};
use contract_search_model::normalize::fold_name;

use crate::rng::Rng;
use crate::vocab;

/// Which executor a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// `searchContractByFieldsExecutor`: one confident match or none.
    Fields,
    /// `searchContractByFreeTextExecutor`: ranked customers.
    FreeText,
}

macro_rules! categories {
    ($($variant:ident => $name:literal, $kind:ident, $weight:literal, $doc:literal;)+) => {
        /// What a query tests.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Category {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)+
        }

        impl Category {
            /// Every category.
            pub const ALL: &[Category] = &[$(Category::$variant,)+];

            /// Stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Category::$variant => $name,)+ }
            }

            /// The executor it is for.
            pub fn kind(self) -> QueryKind {
                match self { $(Category::$variant => QueryKind::$kind,)+ }
            }

            /// Relative frequency in a generated query set.
            pub fn weight(self) -> u32 {
                match self { $(Category::$variant => $weight,)+ }
            }
        }
    };
}

categories! {
    FieldsContractId => "fields_contract_id", Fields, 8, "Contract id with a prefix or leading zeros, plus a noisy name.";
    FieldsEmail => "fields_email", Fields, 8, "Email plus a noisy name.";
    FieldsPhone => "fields_phone", Fields, 8, "Phone in another format plus a noisy surname.";
    FieldsMeter => "fields_meter", Fields, 8, "Partial or re-formatted meter number plus surname or postcode.";
    FieldsNameAddress => "fields_name_address", Fields, 12, "Noisy names (typos, umlauts, OCR) and street address.";
    FieldsSwappedNames => "fields_swapped_names", Fields, 5, "First and last name swapped, with the address.";
    FieldsBusiness => "fields_business", Fields, 5, "Company name variant and address.";
    FieldsAbsentRandom => "fields_absent_random", Fields, 5, "A person who is not a customer (expected: no match).";
    FieldsAbsentNearMiss => "fields_absent_near_miss", Fields, 5, "A common surname in a town where no such customer lives (expected: no match).";
    FieldsAmbiguousNamesake => "fields_ambiguous_namesake", Fields, 4, "Name and town shared by two customers (expected: no match).";
    FieldsAmbiguousSharedEmail => "fields_ambiguous_shared_email", Fields, 3, "Email and surname shared by partners (expected: no match).";
    FieldsConflicting => "fields_conflicting", Fields, 3, "One customer's contract id with another customer's name and address (expected: no match).";
    TextNameCity => "text_name_city", FreeText, 6, "First name, surname and town.";
    TextEmail => "text_email", FreeText, 4, "Email address.";
    TextPhone => "text_phone", FreeText, 4, "Phone number in any format.";
    TextMeter => "text_meter", FreeText, 4, "Meter number, whole or partial.";
    TextContractId => "text_contract_id", FreeText, 3, "Contract id variant.";
    TextCustomerId => "text_customer_id", FreeText, 2, "Customer id variant.";
    TextIban => "text_iban", FreeText, 2, "IBAN, grouped or plain.";
    TextStreetName => "text_street_name", FreeText, 4, "Surname with street and house number.";
    TextPartial => "text_partial", FreeText, 4, "Name and town, the last word cut short (search as you type).";
    TextTypo => "text_typo", FreeText, 4, "Name with a typo and town.";
    TextCompany => "text_company", FreeText, 3, "Company name and town.";
}

/// The right answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    /// The customer to find.
    pub customer_id: String,
    /// The contracts that count as correct for a fields search (any of them).
    pub contract_ids: Vec<String>,
}

/// A query with its category and ground truth (`expected: null` means "no match is right").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledQuery {
    /// Stable id, `q000001`.
    pub id: String,
    /// Executor.
    pub kind: QueryKind,
    /// Category.
    pub category: Category,
    /// The executor input exactly as enneo would pass it.
    pub input: Value,
    /// The right answer, or `None` when no match is right.
    pub expected: Option<Expected>,
}

/// Makes labelled queries for the data of one [`Generator`].
pub struct QueryGenerator<'a> {
    data: &'a Generator,
    truth: TruthCounts,
    seed: u64,
    cumulative: Vec<u32>,
}

const STREAM_QUERIES: u64 = 0x5155_4552;
const MAX_TRIES: usize = 500;

fn expected(customer: &SimCustomer, contracts: impl Iterator<Item = u64>) -> Option<Expected> {
    Some(Expected {
        customer_id: customer.id.to_string(),
        contract_ids: contracts.map(|id| id.to_string()).collect(),
    })
}

fn all_contracts(customer: &SimCustomer) -> Option<Expected> {
    expected(customer, customer.contracts.iter().map(|contract| contract.id))
}

fn contracts_at(customer: &SimCustomer, address: &Address) -> Option<Expected> {
    expected(customer, customer.contracts.iter().filter(|c| &c.address == address).map(|c| c.id))
}

fn street_line(address: &Address, rng: &mut Rng) -> String {
    format!("{} {}", street_variant(&address.street, rng), address.house_number)
}

fn city_part(city: &str, rng: &mut Rng) -> String {
    if rng.chance(0.3) { umlaut_variant(city, rng) } else { city.to_owned() }
}

/// Puts `value` under `field` unless it is `None`.
fn set(input: &mut Value, field: &str, value: Option<String>) {
    if let Some(value) = value {
        input[field] = Value::String(value);
    }
}

impl<'a> QueryGenerator<'a> {
    /// Scans all customers of `data` once to learn which information is unique.
    pub fn new(data: &'a Generator, seed: u64) -> QueryGenerator<'a> {
        let truth = TruthCounts::build(data);
        let cumulative = vocab::cumulative(Category::ALL, |category| category.weight());
        QueryGenerator { data, truth, seed, cumulative }
    }

    /// Query number `index` (deterministic for the seed). A category the data cannot supply
    /// (no shared emails in a tiny data set) gives way to the next one.
    pub fn query(&self, index: u64) -> LabelledQuery {
        let mut rng = Rng::for_item(self.seed, STREAM_QUERIES, index);
        let first = rng.weighted_index(&self.cumulative);
        (0..Category::ALL.len())
            .map(|step| Category::ALL[(first + step) % Category::ALL.len()])
            .find_map(|category| self.query_of(category, index, &mut rng))
            .expect("the id categories can always be built")
    }

    /// A query of a given category, or `None` when the data offers none after many tries.
    pub fn query_of(&self, category: Category, index: u64, rng: &mut Rng) -> Option<LabelledQuery> {
        (0..MAX_TRIES).find_map(|_| self.try_build(category, rng)).map(|(input, expected)| LabelledQuery {
            id: format!("q{index:06}"),
            kind: category.kind(),
            category,
            input,
            expected,
        })
    }

    fn random_customer(&self, rng: &mut Rng) -> SimCustomer {
        self.data.customer(rng.below(self.data.num_customers() as u64) as usize)
    }

    fn unique(&self, key: u64) -> bool {
        self.truth.count(key) == 1
    }

    fn try_build(&self, category: Category, rng: &mut Rng) -> Option<(Value, Option<Expected>)> {
        use Category::*;
        let customer = self.random_customer(rng);
        let contract = customer.contracts[rng.below(customer.contracts.len() as u64) as usize].clone();
        let mut input = json!({ "ticketId": format!("T-{}", rng.range(100_000, 999_999)) });
        let person = customer.lastname.clone().zip(customer.firstname.clone());
        match category {
            FieldsContractId => {
                set(&mut input, "contractId", Some(id_variant(&contract.id.to_string(), "VN", rng)));
                self.add_identity(&mut input, &customer, rng);
                Some((input, expected(&customer, [contract.id].into_iter())))
            }
            FieldsEmail => {
                let email = customer.email.clone()?;
                if !self.unique(key(KeyKind::Email, &[&email])) {
                    return None;
                }
                set(&mut input, "email", Some(if rng.chance(0.2) { capitalise(&email) } else { email }));
                self.add_identity(&mut input, &customer, rng);
                Some((input, all_contracts(&customer)))
            }
            FieldsPhone => {
                let phone =
                    if rng.chance(0.5) { customer.mobile.clone() } else { customer.landline.clone() }?;
                if !self.unique(key(KeyKind::Phone, &[&phone.e164()])) {
                    return None;
                }
                set(&mut input, "phone", Some(phone_variant(&phone, rng)));
                self.add_identity(&mut input, &customer, rng);
                Some((input, all_contracts(&customer)))
            }
            FieldsMeter => {
                set(&mut input, "meterNumber", Some(meter_variant(&contract.meter_number, rng)));
                if rng.chance(0.6) {
                    self.add_identity(&mut input, &customer, rng);
                } else {
                    set(&mut input, "postalCode", Some(contract.address.postcode.clone()));
                }
                Some((input, expected(&customer, [contract.id].into_iter())))
            }
            FieldsNameAddress | FieldsSwappedNames => {
                let (last, first) = person?;
                let address = &contract.address;
                if !self.unique(name_keys(&last, &first, address)[2]) {
                    return None;
                }
                let (first_field, last_field) = if category == FieldsSwappedNames {
                    ("lastname", "firstname")
                } else {
                    ("firstname", "lastname")
                };
                set(&mut input, first_field, Some(noisy_name(&first, rng)));
                set(&mut input, last_field, Some(noisy_name(&last, rng)));
                self.add_address(&mut input, address, rng);
                Some((input, contracts_at(&customer, address)))
            }
            FieldsBusiness => {
                let company = customer.company.clone()?;
                let address = &contract.address;
                if !self.unique(company_keys(&company, address)[0]) {
                    return None;
                }
                set(&mut input, "company", Some(company_variant(&company, rng)));
                self.add_address(&mut input, address, rng);
                Some((input, contracts_at(&customer, address)))
            }
            FieldsAbsentRandom => self.absent_random(input, rng),
            FieldsAbsentNearMiss => self.absent_near_miss(input, rng),
            FieldsAmbiguousNamesake => self.ambiguous(input, Relation::Namesake, rng),
            FieldsAmbiguousSharedEmail => self.ambiguous(input, Relation::Partner, rng),
            FieldsConflicting => {
                let other = self.random_customer(rng);
                let (other_last, other_first) = other.lastname.clone().zip(other.firstname.clone())?;
                let (last, _) = person?;
                if fold_name(&last) == fold_name(&other_last) {
                    return None;
                }
                set(&mut input, "contractId", Some(contract.id.to_string()));
                set(&mut input, "firstname", Some(other_first));
                set(&mut input, "lastname", Some(other_last));
                self.add_address(&mut input, &other.contracts[0].address, rng);
                Some((input, None))
            }
            _ => self.free_text(category, &customer, &contract, rng),
        }
    }

    /// Adds the customer's name (noisy) or, for a business, its company.
    fn add_identity(&self, input: &mut Value, customer: &SimCustomer, rng: &mut Rng) {
        if let Some(company) = &customer.company
            && (customer.lastname.is_none() || rng.chance(0.5))
        {
            set(input, "company", Some(company_variant(company, rng)));
            return;
        }
        set(input, "lastname", customer.lastname.as_deref().map(|last| noisy_name(last, rng)));
        if rng.chance(0.6) {
            set(input, "firstname", customer.firstname.as_deref().map(|first| noisy_name(first, rng)));
        }
    }

    fn add_address(&self, input: &mut Value, address: &Address, rng: &mut Rng) {
        if rng.chance(0.3) {
            set(
                input,
                "address",
                Some(format!("{}, {} {}", street_line(address, rng), address.postcode, address.city)),
            );
            return;
        }
        set(input, "address", Some(street_line(address, rng)));
        if rng.chance(0.6) {
            set(input, "postalCode", Some(address.postcode.clone()));
        }
        if rng.chance(0.5) {
            set(input, "city", Some(city_part(&address.city, rng)));
        }
    }

    fn absent_random(&self, mut input: Value, rng: &mut Rng) -> Option<(Value, Option<Expected>)> {
        let female = rng.chance(0.5);
        let first = random_first_name(rng, female);
        let last = random_surname(rng);
        let address = random_address(rng);
        let [name_city, _, name_street, ..] = name_keys(&last, &first, &address);
        if self.truth.count(name_street) > 0 || self.truth.count(name_city) > 0 {
            return None;
        }
        let email = format!(
            "{}.{}{}@{}",
            crate::generate::email_local_part(&first),
            crate::generate::email_local_part(&last),
            rng.range(1000, 9999),
            vocab::EMAIL_DOMAINS[0].0
        );
        if self.truth.count(key(KeyKind::Email, &[&email])) > 0 {
            return None;
        }
        set(&mut input, "firstname", Some(first));
        set(&mut input, "lastname", Some(last));
        self.add_address(&mut input, &address, rng);
        if rng.chance(0.4) {
            set(&mut input, "email", Some(email));
        }
        Some((input, None))
    }

    fn absent_near_miss(&self, mut input: Value, rng: &mut Rng) -> Option<(Value, Option<Expected>)> {
        // A very common surname and first name in a real town, where no such customer lives.
        let last = vocab::COMMON_SURNAMES[rng.below(10) as usize].0.to_owned();
        let female = rng.chance(0.5);
        let first = random_first_name(rng, female);
        let address = random_address(rng);
        let [name_city, ..] = name_keys(&last, &first, &address);
        if self.truth.count(name_city) > 0 {
            return None;
        }
        set(&mut input, "firstname", Some(first));
        set(&mut input, "lastname", Some(last));
        if rng.chance(0.5) {
            set(&mut input, "address", Some(street_line(&address, rng)));
        }
        set(&mut input, "postalCode", rng.chance(0.5).then(|| address.postcode.clone()));
        set(&mut input, "city", Some(address.city.clone()));
        Some((input, None))
    }

    fn ambiguous(
        &self,
        mut input: Value,
        relation: Relation,
        rng: &mut Rng,
    ) -> Option<(Value, Option<Expected>)> {
        let start = 1 + rng.below(self.data.num_customers() as u64 - 1) as usize;
        let index = (start..self.data.num_customers().min(start + 2000))
            .find(|&i| self.data.relation(i) == relation)?;
        let customer = self.data.customer(index);
        let (last, first) = customer.lastname.clone().zip(customer.firstname.clone())?;
        match relation {
            Relation::Namesake => {
                let [name_city, name_zip, ..] = name_keys(&last, &first, &customer.address);
                let with_zip = rng.chance(0.5);
                let shared = if with_zip { self.truth.count(name_zip) } else { self.truth.count(name_city) };
                if shared < 2 {
                    return None;
                }
                set(&mut input, "firstname", Some(first));
                set(&mut input, "lastname", Some(last));
                set(&mut input, "city", Some(customer.address.city.clone()));
                set(&mut input, "postalCode", with_zip.then(|| customer.address.postcode.clone()));
            }
            _ => {
                // The planted partner: the customer before shares email and surname, so the
                // two cannot be told apart by them.
                let email = customer.email.clone()?;
                let partner = self.data.customer(index - 1);
                let same_surname = partner.lastname.as_deref().map(fold_name) == Some(fold_name(&last));
                if partner.email.as_deref() != Some(email.as_str()) || !same_surname {
                    return None;
                }
                set(&mut input, "email", Some(email));
                set(&mut input, "lastname", Some(last));
            }
        }
        Some((input, None))
    }

    fn free_text(
        &self,
        category: Category,
        customer: &SimCustomer,
        contract: &SimContract,
        rng: &mut Rng,
    ) -> Option<(Value, Option<Expected>)> {
        use Category::*;
        let person = customer.lastname.clone().zip(customer.firstname.clone());
        let name_city_unique = |address: &Address| {
            person.as_ref().is_some_and(|(last, first)| self.unique(name_keys(last, first, address)[0]))
        };
        let text = match category {
            TextNameCity => {
                let (last, first) = person.clone()?;
                if !name_city_unique(&customer.address) {
                    return None;
                }
                let city = city_part(&customer.address.city, rng);
                match rng.below(3) {
                    0 => format!("{first} {last} {city}"),
                    1 => format!("{last} {first} {city}"),
                    _ => format!("{last}, {first}, {city}"),
                }
            }
            TextEmail => {
                let email = customer.email.clone()?;
                if !self.unique(key(KeyKind::Email, &[&email])) {
                    return None;
                }
                if rng.chance(0.2) { capitalise(&email) } else { email }
            }
            TextPhone => {
                let phone =
                    if rng.chance(0.5) { customer.mobile.clone() } else { customer.landline.clone() }?;
                if !self.unique(key(KeyKind::Phone, &[&phone.e164()])) {
                    return None;
                }
                phone_variant(&phone, rng)
            }
            TextMeter => meter_variant(&contract.meter_number, rng),
            TextContractId => id_variant(&contract.id.to_string(), "VN", rng),
            TextCustomerId => id_variant(&customer.id.to_string(), "K", rng),
            TextIban => iban_variant(&customer.iban, rng),
            TextStreetName => {
                let (last, first) = person.clone()?;
                let address = &contract.address;
                // Agents add the town or the postcode: the street alone is in every town.
                let keys = name_keys(&last, &first, address);
                let (place, place_key) = if rng.chance(0.5) {
                    (address.postcode.clone(), keys[3])
                } else {
                    (city_part(&address.city, rng), keys[4])
                };
                if !self.unique(place_key) {
                    return None;
                }
                format!("{} {} {place}", noisy_name(&last, rng), street_line(address, rng))
            }
            TextPartial => {
                let (last, first) = person.clone()?;
                if !name_city_unique(&customer.address) {
                    return None;
                }
                let city: String = customer.address.city.chars().take(3 + rng.below(3) as usize).collect();
                format!("{first} {last} {city}")
            }
            TextTypo => {
                let (last, first) = person.clone()?;
                if last.chars().count() < 5 || !name_city_unique(&customer.address) {
                    return None;
                }
                format!("{first} {} {}", typo(&last, rng), customer.address.city)
            }
            TextCompany => {
                let company = customer.company.clone()?;
                if !self.unique(company_keys(&company, &customer.address)[1]) {
                    return None;
                }
                format!("{} {}", company_variant(&company, rng), customer.address.city)
            }
            _ => return None,
        };
        let input = json!({ "q": text, "limit": 10, "offset": 0 });
        Some((input, all_contracts(customer)))
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A company name as customers write it: without the legal form, or with a typo.
fn company_variant(company: &str, rng: &mut Rng) -> String {
    let without_form = vocab::LEGAL_FORMS
        .iter()
        .filter_map(|form| company.strip_suffix(form))
        .map(str::trim_end)
        .next()
        .unwrap_or(company);
    match rng.below(4) {
        0 => without_form.to_owned(),
        1 => typo(company, rng),
        _ => company.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_deterministic_and_labelled() {
        let data = Generator::new(11, 20_000);
        let queries = QueryGenerator::new(&data, 3);
        let first: Vec<_> = (0..300).map(|index| queries.query(index)).collect();
        let again: Vec<_> = (0..300).map(|index| queries.query(index)).collect();
        assert_eq!(first, again);
        for query in &first {
            assert_eq!(query.kind, query.category.kind());
            let absent = matches!(
                query.category,
                Category::FieldsAbsentRandom
                    | Category::FieldsAbsentNearMiss
                    | Category::FieldsAmbiguousNamesake
                    | Category::FieldsAmbiguousSharedEmail
                    | Category::FieldsConflicting
            );
            assert_eq!(query.expected.is_none(), absent, "{query:?}");
            if let Some(expected) = &query.expected {
                assert!(!expected.contract_ids.is_empty(), "{query:?}");
            }
        }
    }

    #[test]
    fn every_category_can_be_built() {
        let data = Generator::new(12, 20_000);
        let queries = QueryGenerator::new(&data, 4);
        let mut rng = Rng::new(9);
        for (index, category) in Category::ALL.iter().enumerate() {
            let query = queries.query_of(*category, index as u64, &mut rng).unwrap();
            assert_eq!(query.category, *category);
        }
    }
}
