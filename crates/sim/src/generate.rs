//! The deterministic generator of German energy customers and their contracts.
//!
//! Customer `i` is a pure function of `(seed, i)`, so any record can be regenerated on demand:
//! the simulator serves millions of contracts without holding them, and generation parallelises.
//! Identifiers that must be unique (meter numbers, MaLo-IDs, IBANs, phone numbers) come from
//! bijections of the running index, so they never collide; names, streets and emails are drawn
//! from skewed distributions, so namesakes happen as they do in real data. A small share of
//! customers is planted as a namesake or a partner (shared email, same address) of the customer
//! before them: those are the ambiguous cases the fields search must refuse to answer.

use std::sync::OnceLock;

use contract_search_model::normalize::{iban_check_digits, malo_check_digit};

use crate::calendar::{Day, days_from_civil};
use crate::rng::{Rng, permute};
use crate::vocab::{self, Energy};

/// First customer id; customer `i` has id `CUSTOMER_ID_BASE + i`.
pub const CUSTOMER_ID_BASE: u64 = 10_000_000;
/// First contract id; contract `j` has id `CONTRACT_ID_BASE + j`.
pub const CONTRACT_ID_BASE: u64 = 30_000_000;
/// The "today" of the synthetic world (2026-12-01), so that data does not depend on the clock.
pub const TODAY: Day = 20_788;

const STREAM_COUNT: u64 = 1;
const STREAM_CUSTOMER: u64 = 2;

/// Share of business customers.
pub const BUSINESS_SHARE: f64 = 0.08;
/// Share of customers planted as a namesake (same first and last name, same town) of the previous.
pub const NAMESAKE_SHARE: f64 = 0.01;
/// Share of customers planted as the partner of the previous (same surname, address and email).
pub const PARTNER_SHARE: f64 = 0.015;

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Street name as written ("Hauptstraße", "Hugo-Junkers-Str.").
    pub street: String,
    /// House number ("5", "15a", "3-5").
    pub house_number: String,
    /// Five-digit postcode.
    pub postcode: String,
    /// City name.
    pub city: String,
}

impl Address {
    /// enneo's one-line form "Street No, ZIP City".
    pub fn one_line(&self) -> String {
        format!("{} {}, {} {}", self.street, self.house_number, self.postcode, self.city)
    }
}

/// A German phone number: area code with trunk zero (`"030"`, `"0171"`) and subscriber number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Area code or mobile prefix, with the leading `0`.
    pub area_code: String,
    /// Subscriber number.
    pub number: String,
}

impl Phone {
    /// E.164 form, e.g. `+491711234567`.
    pub fn e164(&self) -> String {
        format!("+49{}{}", &self.area_code[1..], self.number)
    }
}

/// Contract status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Supplying.
    Active,
    /// Ended.
    Terminated,
    /// Signed, supply not yet started.
    Pending,
}

impl Status {
    /// enneo's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Terminated => "terminated",
            Status::Pending => "pending",
        }
    }

    /// Parses enneo's spelling.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "active" => Some(Status::Active),
            "terminated" => Some(Status::Terminated),
            "pending" => Some(Status::Pending),
            _ => None,
        }
    }
}

/// A synthetic customer with everything the ERP knows of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCustomer {
    /// Customer id.
    pub id: u64,
    /// Company rather than private person.
    pub business: bool,
    /// "Herr", "Frau", or `None` (businesses, diverse).
    pub salutation: Option<String>,
    /// Given name (for businesses, the contact person's, if any).
    pub firstname: Option<String>,
    /// Family name (for businesses, the contact person's, if any).
    pub lastname: Option<String>,
    /// Company name, for businesses.
    pub company: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Landline.
    pub landline: Option<Phone>,
    /// Mobile.
    pub mobile: Option<Phone>,
    /// How the ERP record spells its phone numbers (an index into the raw formats).
    pub phone_style: u8,
    /// Date of birth, for private customers.
    pub birth_date: Option<Day>,
    /// IBAN of the direct debit.
    pub iban: String,
    /// Home (or business seat) address.
    pub address: Address,
    /// A billing address different from the delivery address, if any.
    pub billing_address: Option<Address>,
    /// The contracts of this customer (at least one).
    pub contracts: Vec<SimContract>,
}

impl SimCustomer {
    /// The phone enneo shows: the mobile if there is one, else the landline.
    pub fn main_phone(&self) -> Option<&Phone> {
        self.mobile.as_ref().or(self.landline.as_ref())
    }
}

/// A synthetic energy contract.
#[derive(Debug, Clone, PartialEq)]
pub struct SimContract {
    /// Contract id.
    pub id: u64,
    /// The customer's id.
    pub customer_id: u64,
    /// Electricity or gas.
    pub energy: Energy,
    /// Delivery address.
    pub address: Address,
    /// Meter number (DIN 43863-5 for modern meters, a shorter owner number for old ones).
    pub meter_number: String,
    /// Market location id.
    pub malo_id: String,
    /// Metering point id.
    pub melo_id: String,
    /// Status.
    pub status: Status,
    /// Index into [`vocab::PRODUCTS`].
    pub product: usize,
    /// Monthly deposit in euros.
    pub monthly_deposit: u32,
    /// Yearly consumption in kWh.
    pub consumption: u32,
    /// Signup date.
    pub signup_date: Day,
    /// Supply start.
    pub start_date: Day,
    /// Supply end (terminated contracts).
    pub end_date: Option<Day>,
}

impl SimContract {
    /// Product name.
    pub fn product_name(&self) -> &'static str {
        vocab::PRODUCTS[self.product].0
    }

    /// Product code.
    pub fn product_code(&self) -> &'static str {
        vocab::PRODUCTS[self.product].1
    }
}

struct Tables {
    surnames: Vec<u32>,
    male: Vec<u32>,
    female: Vec<u32>,
    cities: Vec<u32>,
    streets: Vec<u32>,
    domains: Vec<u32>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        surnames: vocab::cumulative(vocab::COMMON_SURNAMES, |item| item.1),
        male: vocab::cumulative(vocab::MALE_FIRST_NAMES, |item| item.1),
        female: vocab::cumulative(vocab::FEMALE_FIRST_NAMES, |item| item.1),
        cities: vocab::cumulative(vocab::CITIES, |city| city.weight),
        streets: vocab::cumulative(vocab::STREETS, |item| item.1),
        domains: vocab::cumulative(vocab::EMAIL_DOMAINS, |item| item.1),
    })
}

/// How a customer relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Unrelated.
    Normal,
    /// Same first and last name in the same town (postcode), another street.
    Namesake,
    /// Same surname, same address, same email and landline: a couple with separate contracts.
    Partner,
}

/// The generator: a seed and the number of contracts, with the contract-to-customer table.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    /// `first_contract[i]` is the index of customer `i`'s first contract; one extra entry at the
    /// end holds the total.
    first_contract: Vec<u64>,
}

impl Generator {
    /// A generator of exactly `num_contracts` contracts under `seed`.
    pub fn new(seed: u64, num_contracts: u64) -> Generator {
        let mut first_contract = Vec::with_capacity((num_contracts as f64 / 1.4) as usize + 2);
        let mut total = 0u64;
        let mut index = 0u64;
        while total < num_contracts {
            first_contract.push(total);
            total += contract_count(seed, index);
            index += 1;
        }
        first_contract.push(num_contracts);
        Generator { seed, first_contract }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of customers.
    pub fn num_customers(&self) -> usize {
        self.first_contract.len() - 1
    }

    /// Number of contracts.
    pub fn num_contracts(&self) -> u64 {
        *self.first_contract.last().unwrap_or(&0)
    }

    /// The customer holding contract `contract_index`.
    pub fn customer_of_contract(&self, contract_index: u64) -> usize {
        self.first_contract.partition_point(|&first| first <= contract_index) - 1
    }

    /// The index of the first contract of customer `customer_index`.
    pub fn first_contract_of(&self, customer_index: usize) -> u64 {
        self.first_contract[customer_index]
    }

    /// Customer `index` with all of its contracts.
    pub fn customer(&self, index: usize) -> SimCustomer {
        let first = self.first_contract[index];
        let count = self.first_contract[index + 1] - first;
        let kind = self.relation(index);
        let previous = match kind {
            Relation::Normal => None,
            _ => Some(self.base_person(index - 1)),
        };
        let mut rng = Rng::for_item(self.seed, STREAM_CUSTOMER, index as u64);
        let mut customer = self.base_person_with(index, &mut rng);
        if let Some(previous) = previous {
            plant_relation(&mut customer, &previous, kind, &mut rng);
        }
        customer.contracts =
            (0..count).map(|k| self.make_contract(&customer, first + k, k, count, &mut rng)).collect();
        customer
    }

    /// A contract by its index, with its customer.
    pub fn contract(&self, contract_index: u64) -> (SimCustomer, usize) {
        let customer_index = self.customer_of_contract(contract_index);
        let position = (contract_index - self.first_contract[customer_index]) as usize;
        (self.customer(customer_index), position)
    }

    /// How customer `index` relates to customer `index - 1` (planted namesakes and partners;
    /// the relation is not applied when either of the two is a business).
    pub fn relation(&self, index: usize) -> Relation {
        if index == 0 {
            return Relation::Normal;
        }
        let draw = kind_draw(self.seed, index as u64);
        let previous_draw = kind_draw(self.seed, index as u64 - 1);
        let previous_normal = previous_draw >= NAMESAKE_SHARE + PARTNER_SHARE;
        if !previous_normal {
            Relation::Normal
        } else if draw < NAMESAKE_SHARE {
            Relation::Namesake
        } else if draw < NAMESAKE_SHARE + PARTNER_SHARE {
            Relation::Partner
        } else {
            Relation::Normal
        }
    }

    fn base_person(&self, index: usize) -> SimCustomer {
        let mut rng = Rng::for_item(self.seed, STREAM_CUSTOMER, index as u64);
        self.base_person_with(index, &mut rng)
    }

    fn base_person_with(&self, index: usize, rng: &mut Rng) -> SimCustomer {
        let tables = tables();
        let business = rng.chance(BUSINESS_SHARE);
        let female = rng.chance(0.5);
        let surname = random_surname(rng);
        let firstname = random_first_name(rng, female);
        let address = random_address(rng);
        let city = city_named(&address.city);
        let company = business.then(|| random_company(rng, &surname, &address.city));
        let has_contact = !business || rng.chance(0.6);
        let (salutation, firstname, lastname) = if has_contact {
            let salutation = if rng.chance(0.02) {
                None
            } else if female {
                Some("Frau")
            } else {
                Some("Herr")
            };
            (salutation.map(str::to_owned), Some(firstname), Some(surname))
        } else {
            (None, None, None)
        };
        let email = if business {
            rng.chance(0.9)
                .then(|| business_email(rng, company.as_deref().unwrap_or("firma"), lastname.as_deref()))
        } else {
            rng.chance(0.85).then(|| {
                let domain = vocab::EMAIL_DOMAINS[rng.weighted_index(&tables.domains)].0;
                private_email(
                    rng,
                    firstname.as_deref().unwrap_or(""),
                    lastname.as_deref().unwrap_or(""),
                    domain,
                )
            })
        };
        let (has_mobile, has_landline) = match rng.below(100) {
            0..=44 => (true, false),
            45..=69 => (true, true),
            70..=89 => (false, true),
            _ => (false, false),
        };
        let mobile = has_mobile.then(|| mobile_phone(rng, index as u64));
        let landline = has_landline.then(|| landline_phone(rng, index as u64, city.area_code));
        let birth_date =
            (!business).then(|| days_from_civil(1940 + rng.below(66) as i32, 1, 1) + rng.below(365) as i32);
        let billing_address = rng.chance(0.07).then(|| random_address(rng));
        SimCustomer {
            id: CUSTOMER_ID_BASE + index as u64,
            business,
            salutation,
            firstname,
            lastname,
            company,
            email,
            landline,
            mobile,
            phone_style: rng.below(8) as u8,
            birth_date,
            iban: iban_for(index as u64, rng),
            address,
            billing_address,
            contracts: Vec::new(),
        }
    }

    fn make_contract(
        &self,
        customer: &SimCustomer,
        contract_index: u64,
        position: u64,
        count: u64,
        rng: &mut Rng,
    ) -> SimContract {
        // The first contract is always at the customer's own address. Two contracts: electricity
        // and gas at home (70%), or a second home (30%). Three: both.
        let second_home = position > 0 && ((count == 2 && rng.chance(0.3)) || (count == 3 && position == 2));
        let energy = if position == 1 && !second_home { Energy::Gas } else { Energy::Electricity };
        let address = if second_home { random_address(rng) } else { customer.address.clone() };
        let moved_away = second_home && count == 2 && rng.chance(0.35);
        let status = if moved_away {
            Status::Active
        } else {
            match rng.below(100) {
                0..=84 => Status::Active,
                85..=94 => Status::Terminated,
                _ => Status::Pending,
            }
        };
        let signup_date = TODAY - 30 - rng.below(3650) as i32;
        let mut start_date = signup_date + 14 + rng.below(60) as i32;
        let mut end_date = None;
        match status {
            Status::Pending => start_date = TODAY + 1 + rng.below(90) as i32,
            Status::Terminated => end_date = Some((start_date + 90 + rng.below(1500) as i32).min(TODAY - 1)),
            Status::Active => {}
        }
        let product = loop {
            let candidate = rng.below(vocab::PRODUCTS.len() as u64) as usize;
            if vocab::PRODUCTS[candidate].2 == energy {
                break candidate;
            }
        };
        let consumption = match energy {
            Energy::Electricity => 1200 + rng.below(if customer.business { 30_000 } else { 5000 }) as u32,
            Energy::Gas => 6000 + rng.below(if customer.business { 80_000 } else { 20_000 }) as u32,
        };
        let price_cents = match energy {
            Energy::Electricity => 32,
            Energy::Gas => 11,
        };
        let monthly_deposit = ((consumption * price_cents) as f64 / 1200.0).round().max(5.0) as u32;
        let city = city_named(&address.city);
        let postcode = &address.postcode;
        SimContract {
            id: CONTRACT_ID_BASE + contract_index,
            customer_id: customer.id,
            energy,
            meter_number: meter_number(rng, contract_index, energy),
            malo_id: malo_for(contract_index),
            melo_id: format!(
                "DE{:06}{postcode}{:020}",
                100 + city.weight,
                permute(contract_index, 2_654_435_761, 17, 10u64.pow(19))
            ),
            address,
            status,
            product,
            monthly_deposit,
            consumption,
            signup_date,
            start_date,
            end_date,
        }
    }
}

fn contract_count(seed: u64, index: u64) -> u64 {
    match Rng::for_item(seed, STREAM_COUNT, index).below(100) {
        0..=64 => 1,
        65..=92 => 2,
        _ => 3,
    }
}

fn kind_draw(seed: u64, index: u64) -> f64 {
    Rng::for_item(seed, STREAM_COUNT ^ 0xFF, index).unit()
}

fn plant_relation(customer: &mut SimCustomer, previous: &SimCustomer, kind: Relation, rng: &mut Rng) {
    if previous.business || customer.business {
        return;
    }
    match kind {
        Relation::Namesake => {
            customer.firstname = previous.firstname.clone();
            customer.lastname = previous.lastname.clone();
            customer.salutation = previous.salutation.clone();
            // Same town, another street.
            customer.address.city = previous.address.city.clone();
            customer.address.postcode = previous.address.postcode.clone();
            if customer.address.street == previous.address.street {
                customer.address.house_number = format!("{}", rng.range(100, 140));
            }
        }
        Relation::Partner => {
            customer.lastname = previous.lastname.clone();
            let female = previous.salutation.as_deref() != Some("Frau");
            customer.firstname = Some(random_first_name(rng, female));
            customer.salutation = Some(if female { "Frau" } else { "Herr" }.to_owned());
            customer.address = previous.address.clone();
            customer.email = previous.email.clone();
            customer.landline = previous.landline.clone();
        }
        Relation::Normal => {}
    }
}

/// A surname drawn with German frequency skew (common names, rare shapes, double names, a long tail).
pub fn random_surname(rng: &mut Rng) -> String {
    let tables = tables();
    match rng.below(100) {
        // The listed surnames carry about an eighth of all people (Müller about 0.9%), close to
        // the share of Germany's hundred most common surnames.
        0..=12 => vocab::COMMON_SURNAMES[rng.weighted_index(&tables.surnames)].0.to_owned(),
        13..=15 => (*rng.pick(vocab::RARE_SURNAMES)).to_owned(),
        16..=18 => format!("{}-{}", random_surname_simple(rng), random_surname_simple(rng)),
        _ => random_surname_simple(rng),
    }
}

fn random_surname_simple(rng: &mut Rng) -> String {
    if rng.chance(0.05) {
        return vocab::COMMON_SURNAMES[rng.weighted_index(&tables().surnames)].0.to_owned();
    }
    let prefix = rng.pick(vocab::TAIL_PREFIXES);
    let suffix = rng.pick(vocab::TAIL_SUFFIXES);
    format!("{prefix}{suffix}")
}

/// A first name of the given gender, drawn by weight.
pub fn random_first_name(rng: &mut Rng, female: bool) -> String {
    let tables = tables();
    let name = if female {
        vocab::FEMALE_FIRST_NAMES[rng.weighted_index(&tables.female)].0
    } else {
        vocab::MALE_FIRST_NAMES[rng.weighted_index(&tables.male)].0
    };
    name.to_owned()
}

/// A random real-looking address: a weighted city, one of its postcodes, a common street.
pub fn random_address(rng: &mut Rng) -> Address {
    let tables = tables();
    let city = &vocab::CITIES[rng.weighted_index(&tables.cities)];
    let street = vocab::STREETS[rng.weighted_index(&tables.streets)].0;
    let highest = if rng.chance(0.8) { 60 } else { 250 };
    let mut house_number = rng.range(1, highest).to_string();
    match rng.below(100) {
        0..=7 => house_number.push(char::from(b'a' + rng.below(4) as u8)),
        8..=9 => {
            let start: u64 = house_number.parse().unwrap_or(1);
            house_number = format!("{start}-{}", start + 2);
        }
        _ => {}
    }
    Address {
        street: street.to_owned(),
        house_number,
        postcode: (*rng.pick(city.postcodes)).to_owned(),
        city: city.name.to_owned(),
    }
}

fn city_named(name: &str) -> &'static vocab::City {
    vocab::CITIES.iter().find(|city| city.name == name).unwrap_or(&vocab::CITIES[0])
}

fn random_company(rng: &mut Rng, surname: &str, city: &str) -> String {
    let form = rng.pick(vocab::LEGAL_FORMS);
    let word = rng.pick(vocab::COMPANY_WORDS);
    match rng.below(5) {
        0 => format!("{surname} {form}"),
        1 => format!("{word} {surname} {form}"),
        2 => format!("{word} {city} {form}"),
        3 => format!("{surname} & {} {form}", random_surname_simple(rng)),
        _ => format!("{word} {} {form}", rng.pick(vocab::TAIL_PREFIXES)),
    }
}

/// Lowercase ASCII form of a name part for an email address ("Jürgen" → "juergen").
pub fn email_local_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for character in text.chars().flat_map(char::to_lowercase) {
        match character {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ë' => out.push('e'),
            'ç' => out.push('c'),
            'ş' => out.push('s'),
            'ı' => out.push('i'),
            'ś' => out.push('s'),
            'á' | 'à' => out.push('a'),
            'í' => out.push('i'),
            'a'..='z' | '0'..='9' => out.push(character),
            '-' => out.push('-'),
            _ => {}
        }
    }
    out
}

fn private_email(rng: &mut Rng, firstname: &str, lastname: &str, domain: &str) -> String {
    let first = email_local_part(firstname);
    let last = email_local_part(lastname).replace('-', "");
    let initial = first.chars().next().unwrap_or('x');
    let year = rng.range(50, 99);
    let number = rng.range(1, 999);
    let local = match rng.below(10) {
        0 | 1 => format!("{first}.{last}"),
        2 => format!("{first}{last}"),
        3 => format!("{initial}.{last}"),
        4 => format!("{last}.{first}"),
        5 => format!("{first}_{last}{year}"),
        6 => format!("{first}.{last}{year}"),
        7 => format!("{last}{number}"),
        8 => format!("{initial}{last}{number}"),
        _ => format!("{first}{number}"),
    };
    format!("{local}@{domain}")
}

fn business_email(rng: &mut Rng, company: &str, lastname: Option<&str>) -> String {
    let slug: String = company
        .split_whitespace()
        .filter(|word| !vocab::LEGAL_FORMS.iter().any(|form| form.starts_with(word)) && *word != "&")
        .map(email_local_part)
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() { "firma".to_owned() } else { slug };
    let local = match (rng.below(4), lastname) {
        (0, Some(lastname)) => email_local_part(lastname),
        (1, _) => "kontakt".to_owned(),
        (2, _) => "buchhaltung".to_owned(),
        _ => "info".to_owned(),
    };
    format!("{local}@{slug}.de")
}

const MOBILE_PREFIXES: &[&str] = &[
    "0151", "0152", "0157", "0159", "0160", "0162", "0163", "0170", "0171", "0172", "0173", "0174", "0175",
    "0176", "0177", "0178", "0179",
];

fn mobile_phone(rng: &mut Rng, customer_index: u64) -> Phone {
    // Unique per customer: the subscriber part is a bijection of the index.
    let subscriber = permute(customer_index, 7_368_787, 1_234_567, 10_000_000);
    Phone { area_code: (*rng.pick(MOBILE_PREFIXES)).to_owned(), number: format!("{subscriber:07}") }
}

fn landline_phone(_rng: &mut Rng, customer_index: u64, area_code: &str) -> Phone {
    let subscriber = 2_000_000 + permute(customer_index, 5_764_801, 777_777, 8_000_000);
    let digits = subscriber.to_string();
    // Longer area codes leave room for fewer subscriber digits (national numbers have 10–11).
    let keep = 11usize.saturating_sub(area_code.len()).clamp(5, 8);
    Phone { area_code: area_code.to_owned(), number: digits[digits.len().saturating_sub(keep)..].to_owned() }
}

fn iban_for(customer_index: u64, rng: &mut Rng) -> String {
    let bank = rng.pick(vocab::BANK_CODES);
    let account = permute(customer_index, 6_364_136_223, 1_442_695_040, 10_000_000_000);
    let bban = format!("{bank}{account:010}");
    format!("DE{}{bban}", iban_check_digits("DE", &bban))
}

fn malo_for(contract_index: u64) -> String {
    let body = 1_000_000_000 + permute(contract_index, 3_037_000_493, 987_654_321, 9_000_000_000);
    let body = body.to_string();
    let check = malo_check_digit(&body).expect("ten digits");
    format!("{body}{check}")
}

fn meter_number(rng: &mut Rng, contract_index: u64, energy: Energy) -> String {
    // The eight-digit serial is unique on its own (people quote only the serial), so partial
    // meter numbers stay unambiguous.
    let serial = permute(contract_index, 2_862_933_557, 11_111_111, 100_000_000);
    let block = rng.below(100);
    if rng.chance(0.05) {
        // An old meter with a plain nine-digit owner number.
        return format!("9{serial:08}");
    }
    let (medium, manufacturers) = match energy {
        Energy::Electricity => ('1', vocab::ELECTRICITY_MANUFACTURERS),
        Energy::Gas => ('7', vocab::GAS_MANUFACTURERS),
    };
    let manufacturer = rng.pick(manufacturers);
    format!("{medium}{manufacturer}{block:02}{serial:08}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use contract_search_model::normalize::{normalize_iban, normalize_malo, normalize_phone};

    use super::*;

    #[test]
    fn exact_contract_count_and_determinism() {
        let generator = Generator::new(42, 1000);
        assert_eq!(generator.num_contracts(), 1000);
        let total: usize =
            (0..generator.num_customers()).map(|i| generator.customer(i).contracts.len()).sum();
        assert_eq!(total, 1000);
        assert_eq!(Generator::new(42, 1000).customer(17), generator.customer(17));
        assert_ne!(Generator::new(43, 1000).customer(17), generator.customer(17));
    }

    #[test]
    fn contract_lookup_matches_customer_listing() {
        let generator = Generator::new(7, 500);
        for contract_index in [0, 1, 2, 250, 499] {
            let (customer, position) = generator.contract(contract_index);
            assert_eq!(customer.contracts[position].id, CONTRACT_ID_BASE + contract_index);
        }
    }

    #[test]
    fn identifiers_are_valid_and_unique() {
        let generator = Generator::new(1, 20_000);
        let mut meters = HashSet::new();
        let mut malos = HashSet::new();
        let mut ibans = HashSet::new();
        for index in 0..generator.num_customers() {
            let customer = generator.customer(index);
            normalize_iban(&customer.iban).unwrap();
            if !matches!(generator.relation(index), Relation::Partner) {
                assert!(ibans.insert(customer.iban.clone()));
            }
            if let Some(phone) = customer.main_phone() {
                assert_eq!(normalize_phone(&phone.e164()).unwrap(), phone.e164());
            }
            for contract in &customer.contracts {
                assert!(meters.insert(contract.meter_number.clone()), "{}", contract.meter_number);
                normalize_malo(&contract.malo_id).unwrap();
                assert!(malos.insert(contract.malo_id.clone()));
                assert_eq!(contract.melo_id.len(), 33, "{}", contract.melo_id);
            }
        }
    }

    #[test]
    fn shares_are_realistic() {
        let generator = Generator::new(5, 30_000);
        let customers: Vec<_> = (0..generator.num_customers()).map(|i| generator.customer(i)).collect();
        let business = customers.iter().filter(|c| c.business).count() as f64 / customers.len() as f64;
        assert!((0.06..0.10).contains(&business), "business share {business}");
        let muellers = customers.iter().filter(|c| c.lastname.as_deref() == Some("Müller")).count();
        let share = muellers as f64 / customers.len() as f64;
        assert!((0.005..0.015).contains(&share), "Müller share {share}");
        let per_customer = generator.num_contracts() as f64 / customers.len() as f64;
        assert!((1.3..1.55).contains(&per_customer), "{per_customer}");
    }
}
