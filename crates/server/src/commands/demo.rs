//! `contract-search demo`: the whole thing on built-in defaults, in one process.
//!
//! 1. Starts the Powercloud simulator on a free loopback port, serving synthetic contracts
//!    (200,000 by default, `--contracts`).
//! 2. Rebuilds the index from it, over HTTP, exactly as from a real Powercloud, into a data
//!    directory (a fresh temporary one, removed at exit, unless `--data-dir` is given).
//! 3. Serves the API on 127.0.0.1:8080 (`--listen`) with a random API key of scope `admin`
//!    (unless `CONTRACT_SEARCH_API_KEYS` is set), and prints the key and curl examples for each
//!    call, built from real customers of the generated data and checked to answer with hits.
//! 4. The simulator changes its data in the background (`--changes-per-sec`, default 1: moves,
//!    new contracts, terminations, deletions, new contact data) and posts each change event to
//!    the server's webhook, which journals it, refetches the record and makes it searchable
//!    within about a second: the status shows the journal advancing.
//! 5. Serves until Ctrl-C; `POST /v1/admin/rebuild` rebuilds from the simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use contract_search_index::GenerationStore;
use contract_search_query::{ContractSearch, FieldsSettings};
use contract_search_sim::generate::{Generator, SimCustomer};
use contract_search_sim::server::{SimConfig, spawn};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::commands::rebuild::run_rebuild;
use crate::commands::serve::{SHUTDOWN_GRACE, ServerSettings, rebuild_job, serve_on};
use crate::config::CommonArgs;
use crate::http::updates::WebhookAuth;
use crate::http::{ApiKeys, Auth, Scope};

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Synthetic contracts served by the built-in Powercloud simulator.
    #[arg(long, default_value_t = 200_000)]
    pub contracts: u64,
    /// Seed of the synthetic data (the same as `generate --seed` gives the same records).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data directory of the index [default: a fresh temporary directory, removed at exit].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to serve the API on.
    #[arg(long, env = "CONTRACT_SEARCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// API keys as scope=key pairs [default: one random key of scope admin, printed].
    #[arg(long, env = "CONTRACT_SEARCH_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// Changes the simulator makes per second and pushes to the server's webhook (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub changes_per_sec: f64,
}

/// One call of the printed examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// What it shows.
    pub title: &'static str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, without query string.
    pub path: String,
    /// Query parameters (URL-encoded by curl's `--data-urlencode`).
    pub query: Vec<(&'static str, String)>,
    /// JSON body (POST).
    pub body: Option<Value>,
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Example {
    /// The example as a curl command line, with the key in `$CONTRACT_SEARCH_API_KEY`.
    pub fn to_curl(&self, base_url: &str) -> String {
        let mut command = String::from("curl -s -H \"Authorization: Bearer $CONTRACT_SEARCH_API_KEY\"");
        if !self.query.is_empty() {
            command.push_str(" -G");
            for (name, value) in &self.query {
                command.push_str(&format!(" --data-urlencode {}", shell_quote(&format!("{name}={value}"))));
            }
        }
        if let Some(body) = &self.body {
            command.push_str(" -H 'Content-Type: application/json' -d ");
            command.push_str(&shell_quote(&body.to_string()));
        }
        if self.method == "POST" && self.body.is_none() {
            command.push_str(" -X POST");
        }
        command.push(' ');
        command.push_str(&shell_quote(&format!("{base_url}{}", self.path)));
        command
    }
}

/// A random key: 24 bytes from the OS, hex.
fn random_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness from the OS: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The fields-search input an AI would extract from this customer's email: name and address,
/// and (as the second try) name, postcode and meter number.
fn fields_inputs(customer: &SimCustomer) -> Vec<Value> {
    let contract = &customer.contracts[0];
    let address = &contract.address;
    vec![
        json!({
            "ticketId": "demo-1",
            "firstname": customer.firstname,
            "lastname": customer.lastname,
            "address": format!("{} {}", address.street, address.house_number),
            "postalCode": address.postcode,
            "city": address.city,
        }),
        json!({
            "ticketId": "demo-1",
            "firstname": customer.firstname,
            "lastname": customer.lastname,
            "postalCode": address.postcode,
            "meterNumber": contract.meter_number,
        }),
    ]
}

/// Examples for one customer of the generated data, or `None` unless every one of them finds
/// that customer on `search`. Blocking.
fn examples_for(search: &ContractSearch, customer: &SimCustomer) -> anyhow::Result<Option<Vec<Example>>> {
    let (Some(firstname), Some(lastname)) = (&customer.firstname, &customer.lastname) else {
        return Ok(None);
    };
    if customer.business {
        return Ok(None);
    }
    let contract_id = customer.contracts[0].id.to_string();
    let customer_id = customer.id.to_string();
    let city = &customer.contracts[0].address.city;
    let mut fields_body = None;
    for input in fields_inputs(customer) {
        let query = serde_json::from_value(input.clone()).context("the demo's fields input")?;
        let found = search.fields(&query, false)?.matched;
        if found.is_some_and(|found| found.customer_id == customer_id) {
            fields_body = Some(input);
            break;
        }
    }
    let Some(fields_body) = fields_body else {
        return Ok(None);
    };
    let free_text = format!("{lastname} {city}");
    let query = contract_search_model::FreeTextQuery { q: free_text.clone(), limit: 10, offset: 0 };
    if !search.free_text(&query)?.iter().any(|found| found.id == customer_id) {
        return Ok(None);
    }
    let contracts_text = format!("{firstname} {lastname}");
    if !search.contracts(&contracts_text, 5)?.iter().any(|hit| hit.contract.customer_id == customer_id) {
        return Ok(None);
    }
    if search.contract_by_id(&contract_id)?.is_none() || search.customer_by_id(&customer_id)?.is_none() {
        return Ok(None);
    }
    Ok(Some(vec![
        Example {
            title: "contract by id (searchContractByIdExecutor)",
            method: "GET",
            path: format!("/v1/contracts/{contract_id}"),
            query: Vec::new(),
            body: None,
        },
        Example {
            title: "customer by id with its contractIds (searchCustomerByIdExecutor)",
            method: "GET",
            path: format!("/v1/customers/{customer_id}"),
            query: Vec::new(),
            body: None,
        },
        Example {
            title: "one confident contract from extracted fields (searchContractByFieldsExecutor)",
            method: "POST",
            path: "/v1/search/fields".to_owned(),
            query: Vec::new(),
            body: Some(fields_body.clone()),
        },
        Example {
            title: "the same, with the candidates and why (explain)",
            method: "POST",
            path: "/v1/search/fields?explain=true".to_owned(),
            query: Vec::new(),
            body: Some(fields_body),
        },
        Example {
            title: "customers for an agent's free text (searchContractByFreeTextExecutor)",
            method: "POST",
            path: "/v1/search".to_owned(),
            query: Vec::new(),
            body: Some(json!({ "q": free_text, "limit": 10, "offset": 0 })),
        },
        Example {
            title: "ranked contracts with scores and matched fields",
            method: "GET",
            path: "/v1/search/contracts".to_owned(),
            query: vec![("q", contracts_text), ("limit", "5".to_owned())],
            body: None,
        },
        Example {
            title: "status: generation, last rebuild, schedule",
            method: "GET",
            path: "/v1/admin/status".to_owned(),
            query: Vec::new(),
            body: None,
        },
    ]))
}

/// Examples from the first customers of `generator` that all hit. Blocking.
pub fn choose_examples(search: &ContractSearch, generator: &Generator) -> anyhow::Result<Vec<Example>> {
    for index in 0..generator.num_customers().min(200) {
        if let Some(examples) = examples_for(search, &generator.customer(index))? {
            return Ok(examples);
        }
    }
    bail!("none of the first customers is found by every example search")
}

/// Where the simulator pushes its change events: the server's webhook and its secret.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    /// `http://127.0.0.1:PORT/v1/webhooks/powercloud`.
    pub webhook_url: String,
    /// The webhook secret (sent as `X-Export-Token`).
    pub secret: String,
    /// Background changes per second.
    pub per_sec: f64,
}

/// What the demo prepared: the simulator, the index and the examples.
pub struct Prepared {
    /// The simulator (stops when dropped).
    pub sim: contract_search_sim::server::RunningSim,
    /// The index.
    pub store: Arc<GenerationStore>,
    /// The rebuild job (from the simulator).
    pub job: Option<crate::schedule::RebuildJob>,
    /// The simulator as a connector, for the refetches of change events.
    pub connectors: Vec<Arc<dyn contract_search_ingest::Connector>>,
    /// Example calls that hit.
    pub examples: Vec<Example>,
}

/// Starts the simulator, rebuilds into `data_dir` and picks the examples.
pub async fn prepare(
    num_contracts: u64,
    seed: u64,
    data_dir: PathBuf,
    feed: Option<ChangeFeed>,
) -> anyhow::Result<Prepared> {
    if num_contracts == 0 {
        bail!("--contracts must be positive");
    }
    let mut sim_config = SimConfig { seed, num_contracts, ..SimConfig::default() };
    if let Some(feed) = feed {
        sim_config.export_target = Some(feed.webhook_url);
        sim_config.export_token = Some(feed.secret);
        sim_config.change_rate_per_sec = feed.per_sec.max(0.0);
    }
    let common = CommonArgs {
        data_dir: Some(data_dir),
        powercloud_hash: Some(sim_config.application_hash.clone()),
        powercloud_user: Some(sim_config.user.clone()),
        powercloud_secret: Some(sim_config.password.clone()),
        ..CommonArgs::default()
    };
    eprintln!("starting the Powercloud simulator with {num_contracts} synthetic contracts (seed {seed})");
    let sim = spawn(sim_config).await.context("starting the Powercloud simulator")?;
    let settings = CommonArgs { powercloud_url: Some(sim.base_url.clone()), ..common }.resolve()?;
    let store = Arc::new(
        GenerationStore::open(&settings.data_dir, settings.store.clone())
            .with_context(|| format!("opening the data directory {}", settings.data_dir.display()))?,
    );
    eprintln!("rebuilding the index from it into {}", settings.data_dir.display());
    // A data directory kept from a larger demo must not refuse the smaller one.
    let report = run_rebuild(&settings, store.clone(), true).await?;
    eprintln!(
        "published generation {} with {} contracts in {:.1} s",
        report.generation,
        report.num_contracts,
        report.elapsed.as_secs_f64()
    );
    let connectors = crate::commands::rebuild::connectors(&settings)?;
    let job = rebuild_job(Arc::new(settings), store.clone())?;
    let search = ContractSearch::new(store.clone(), FieldsSettings::default());
    let examples =
        tokio::task::spawn_blocking(move || choose_examples(&search, &Generator::new(seed, num_contracts)))
            .await
            .context("choosing the examples")??;
    Ok(Prepared { sim, store, job, connectors, examples })
}

/// Runs `demo` until Ctrl-C or SIGTERM.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (key, auth) = match &args.api_keys {
        Some(list) => {
            let keys =
                ApiKeys::parse_list(list).map_err(anyhow::Error::msg).context("CONTRACT_SEARCH_API_KEYS")?;
            if keys.is_empty() {
                bail!("CONTRACT_SEARCH_API_KEYS is set but holds no key");
            }
            (None, Auth::Keys(keys))
        }
        None => {
            let key = random_key()?;
            let keys = ApiKeys::new([(Scope::Admin, key.clone())]).map_err(anyhow::Error::msg)?;
            (Some(key), Auth::Keys(keys))
        }
    };
    let (data_dir, _temp_dir) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("contract-search-demo-")
                .tempdir()
                .context("creating a temporary data directory")?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served = runtime.block_on(async move {
        // Bound first: a busy port fails at once, not after the rebuild.
        let listener =
            TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        let base_url = format!("http://{}", listener.local_addr().context("reading the bound address")?);
        let webhook_secret = random_key()?;
        let feed = ChangeFeed {
            webhook_url: format!("{base_url}/v1/webhooks/powercloud"),
            secret: webhook_secret.clone(),
            per_sec: args.changes_per_sec,
        };
        let prepared = prepare(args.contracts, args.seed, data_dir.clone(), Some(feed)).await?;
        println!();
        println!("contract-search demo: {base_url}   (index in {})", data_dir.display());
        match &key {
            Some(key) => {
                println!("\nAPI key (scope admin, for this run only):\n\n  export CONTRACT_SEARCH_API_KEY={key}")
            }
            None => println!(
                "\nAPI keys from CONTRACT_SEARCH_API_KEYS:\n\n  export CONTRACT_SEARCH_API_KEY=<one of your keys>"
            ),
        }
        for example in &prepared.examples {
            println!("\n# {}\n{}", example.title, example.to_curl(&base_url));
        }
        println!(
            "\nCtrl-C stops the demo{}.\n",
            if args.data_dir.is_none() { " and removes its index" } else { "" }
        );
        if args.changes_per_sec > 0.0 {
            println!(
                "The simulator changes {} contract(s) a second and pushes the events to the webhook; \
                 `updates` in the status shows them applied.\n",
                args.changes_per_sec
            );
        }
        let server = ServerSettings {
            webhook: WebhookAuth { secret: Some(webhook_secret), require_signature: false },
            ..ServerSettings::new(args.listen, auth)
        };
        let served = serve_on(
            listener,
            prepared.store,
            prepared.job,
            prepared.connectors,
            server,
            crate::shutdown_signal(),
        )
        .await;
        let _ = prepared.sim.shutdown().await;
        served
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_lines_quote_for_the_shell() {
        let example = Example {
            title: "t",
            method: "POST",
            path: "/v1/search".into(),
            query: Vec::new(),
            body: Some(json!({"q": "O'Brien Köln"})),
        };
        assert_eq!(
            example.to_curl("http://127.0.0.1:8080"),
            "curl -s -H \"Authorization: Bearer $CONTRACT_SEARCH_API_KEY\" -H 'Content-Type: application/json' \
             -d '{\"q\":\"O'\\''Brien Köln\"}' 'http://127.0.0.1:8080/v1/search'"
        );
        let example = Example {
            title: "t",
            method: "GET",
            path: "/v1/search/contracts".into(),
            query: vec![("q", "Anna Müller".into())],
            body: None,
        };
        assert_eq!(
            example.to_curl("http://h"),
            "curl -s -H \"Authorization: Bearer $CONTRACT_SEARCH_API_KEY\" -G --data-urlencode 'q=Anna Müller' \
             'http://h/v1/search/contracts'"
        );
        assert_eq!(random_key().unwrap().len(), 48);
        assert_ne!(random_key().unwrap(), random_key().unwrap());
    }

    /// The demo on a small data set: every printed example answers with a hit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_example_hits() {
        let dir = tempfile::TempDir::new().unwrap();
        let prepared = prepare(400, 7, dir.path().to_owned(), None).await.unwrap();
        assert_eq!(prepared.store.current().unwrap().num_contracts(), 400);
        assert_eq!(prepared.examples.len(), 7);
        let key = random_key().unwrap();
        let auth = Auth::Keys(ApiKeys::new([(Scope::Admin, key.clone())]).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = ServerSettings::new(address, auth);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_on(
            listener,
            prepared.store.clone(),
            prepared.job,
            prepared.connectors,
            server,
            async move {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();
        for example in &prepared.examples {
            let mut url = reqwest::Url::parse(&format!("http://{address}{}", example.path)).unwrap();
            for (name, value) in &example.query {
                url.query_pairs_mut().append_pair(name, value);
            }
            let mut request = match example.method {
                "GET" => client.get(url),
                _ => client.post(url),
            };
            if let Some(body) = &example.body {
                request = request.json(body);
            }
            let answer = request.bearer_auth(&key).send().await.unwrap();
            assert_eq!(answer.status(), reqwest::StatusCode::OK, "{}", example.title);
            let body: Value = answer.json().await.unwrap();
            let hit = match &body {
                Value::Array(items) => !items.is_empty(),
                Value::Object(fields) => !fields.is_empty(),
                _ => false,
            };
            assert!(hit, "{}: {body}", example.title);
        }
        // The demo's rebuild job rebuilds from the simulator.
        let started =
            client.post(format!("http://{address}/v1/admin/rebuild")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(started.status(), reqwest::StatusCode::ACCEPTED);
        let mut last = Value::Null;
        for _ in 0..500 {
            let status: Value = client
                .get(format!("http://{address}/v1/admin/status"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            last = status["rebuild"]["last"].clone();
            if !last.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(last["ok"], true, "{last}");
        assert_eq!(last["numContracts"], 400);
        stop.send(()).unwrap();
        task.await.unwrap().unwrap();
        prepared.sim.shutdown().await.unwrap();
    }
}
