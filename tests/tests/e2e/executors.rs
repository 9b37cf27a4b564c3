//! The shipped enneo executor programs (`integrations/enneo/{php,python,node}/`), each run with
//! its real interpreter against the real `contract-search serve` on a loopback port over an
//! index of the checked-in sample: every program must print exactly what enneo expects (the
//! server's own answer, passed through), and must fail loudly (non-zero exit, nothing on stdout)
//! where a quiet answer would be wrong: a rejected key must not read as "not found".
//!
//! A missing interpreter skips its language with a notice; under CI (`CI` set) it fails the
//! test instead, naming the Debian package to install.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use contract_search_index::generation::BuildOptions;
use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_ingest::rebuild::rebuild_from_contracts;
use contract_search_sim::queries::{Category, LabelledQuery};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{ChildGuard, contract_search_binary};

/// The search key of the server under test.
const SEARCH_KEY: &str = "executors-e2e-search-key-0123456789";
/// Longest time one executor run may take (its own HTTP timeout is 5 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time the server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Proxy settings of the test environment must not reroute the executors' loopback calls
/// (Python's urllib honours them).
const PROXY_VARIABLES: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// One language of the executor programs.
struct Language {
    /// The directory under `integrations/enneo/`.
    dir: &'static str,
    /// The interpreter, looked up on `PATH`.
    interpreter: &'static str,
    /// The programs' file extension.
    extension: &'static str,
    /// The Debian package that installs the interpreter.
    package: &'static str,
}

const PHP: Language = Language { dir: "php", interpreter: "php", extension: "php", package: "php-cli" };
const PYTHON: Language =
    Language { dir: "python", interpreter: "python3", extension: "py", package: "python3" };
const NODE: Language = Language { dir: "node", interpreter: "node", extension: "js", package: "nodejs" };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_executors_answer_as_enneo_expects() {
    executors_answer_as_enneo_expects(&PHP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_executors_answer_as_enneo_expects() {
    executors_answer_as_enneo_expects(&PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_executors_answer_as_enneo_expects() {
    executors_answer_as_enneo_expects(&NODE).await;
}

async fn executors_answer_as_enneo_expects(language: &'static Language) {
    if !interpreter_available(language) {
        return;
    }
    let server = Server::start().await;
    let run = |program: &'static str, input: Value| server.run(language, program, input, SEARCH_KEY);

    // By id: the server's own answer, and `null` for an id it does not know (the id travels
    // percent-encoded in the path, so one with a slash and a question mark is still one id).
    let (status, contract) = server.get("/v1/contracts/30000417").await;
    assert_eq!(status, StatusCode::OK, "{contract}");
    let printed = run("search_contract_by_id", json!({"contractId": "30000417"})).await.json();
    assert_eq!(printed, contract);
    let printed = run("search_contract_by_id", json!({"contractId": 30000417})).await.json();
    assert_eq!(printed, contract, "an integer id, as enneo may send it");
    let unknown = run("search_contract_by_id", json!({"contractId": "no such/contract?"})).await.json();
    assert_eq!(unknown, Value::Null);

    let (status, customer) = server.get("/v1/customers/10000299").await;
    assert_eq!(status, StatusCode::OK, "{customer}");
    assert!(customer["contractIds"].as_array().is_some_and(|ids| ids.contains(&json!("30000417"))));
    let printed = run("search_customer_by_id", json!({"customerId": "10000299"})).await.json();
    assert_eq!(printed, customer);
    let unknown = run("search_customer_by_id", json!({"customerId": "no such/customer?"})).await.json();
    assert_eq!(unknown, Value::Null);

    // Fields: the one expected contract, passed through unchanged; `{}` for a person who is not
    // a customer.
    let query = first_query(Category::FieldsContractId);
    let expected = query.expected.as_ref().expect("a findable query");
    let printed = run("search_contract_by_fields", query.input.clone()).await.json();
    assert_eq!(printed, server.post("/v1/search/fields", &query.input).await, "{}", query.id);
    assert_eq!(printed["customerId"], json!(expected.customer_id), "{}: {printed}", query.id);
    assert!(
        printed["contractId"].as_str().is_some_and(|id| expected.contract_ids.iter().any(|want| want == id)),
        "{}: {printed}, expected one of {:?}",
        query.id,
        expected.contract_ids
    );
    let absent = first_query(Category::FieldsAbsentRandom);
    let printed = run("search_contract_by_fields", absent.input.clone()).await.json();
    assert_eq!(printed, json!({}), "{}", absent.id);

    // Free text: the expected customer first, the list as the server answers it.
    let query = first_query(Category::TextEmail);
    let expected = query.expected.as_ref().expect("a findable query");
    let printed = run("search_contract_by_free_text", query.input.clone()).await.json();
    assert_eq!(printed, server.post("/v1/search", &query.input).await, "{}", query.id);
    assert_eq!(printed[0], json!({"id": expected.customer_id}), "{}: {printed}", query.id);
    assert!(printed.as_array().is_some_and(|hits| hits.len() <= 10), "{printed}");

    // Failures are failures, never an answer: a rejected key is not "not found" (null) nor "no
    // match" ({}); an unknown route (a wrong base URL) is not an unknown contract; neither an
    // overloaded nor an unreachable server is "no match".
    let inputs = [
        ("search_contract_by_id", json!({"contractId": "30000417"})),
        ("search_customer_by_id", json!({"customerId": "10000299"})),
        ("search_contract_by_fields", query_input(Category::FieldsContractId)),
        ("search_contract_by_free_text", query_input(Category::TextEmail)),
    ];
    for (program, input) in &inputs {
        let failed = server.run(language, program, input.clone(), "not-the-key").await;
        failed.assert_failed("HTTP 401");
    }
    let wrong_base_url = format!("{}/no-such-prefix", server.base_url);
    let failed =
        run_program(language, "search_contract_by_id", &inputs[0].1, &wrong_base_url, SEARCH_KEY).await;
    failed.assert_failed("HTTP 404");
    let unavailable = start_unavailable_stub().await;
    let failed =
        run_program(language, "search_contract_by_fields", &inputs[2].1, &unavailable, SEARCH_KEY).await;
    failed.assert_failed("HTTP 503");
    // The transport code is the same in every program: one of them stands for all.
    let closed = closed_port_url();
    let failed =
        run_program(language, "search_contract_by_free_text", &inputs[3].1, &closed, SEARCH_KEY).await;
    failed.assert_failed(&closed);
}

/// Whether `language`'s interpreter runs. Without it the language is skipped with a notice,
/// or under CI the test fails.
fn interpreter_available(language: &Language) -> bool {
    let problem = match Command::new(language.interpreter).arg("--version").output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!("`{} --version` exited with {}", language.interpreter, output.status),
        Err(error) => format!("`{}` does not start ({error})", language.interpreter),
    };
    let need = format!(
        "the {} executors need `{}`, but {problem}; install it with `apt-get install -y {}`",
        language.dir, language.interpreter, language.package
    );
    assert!(std::env::var_os("CI").is_none(), "{need} (under CI a missing interpreter fails the test)");
    eprintln!("notice: skipping a test: {need}");
    false
}

/// The first sample query of `category`.
fn first_query(category: Category) -> LabelledQuery {
    static QUERIES: std::sync::OnceLock<Vec<LabelledQuery>> = std::sync::OnceLock::new();
    let queries = QUERIES.get_or_init(|| {
        let text = std::fs::read_to_string(sample_dir().join("queries.ndjson")).expect("the sample queries");
        text.lines().map(|line| serde_json::from_str(line).expect("a labelled query")).collect()
    });
    queries.iter().find(|query| query.category == category).expect("a query of the category").clone()
}

fn query_input(category: Category) -> Value {
    first_query(category).input
}

fn workspace_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent")
}

fn sample_dir() -> PathBuf {
    workspace_dir().join("data/sample")
}

/// A loopback address where nothing listens: a port bound and released again.
fn free_loopback_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("the bound address")
}

/// A URL where nothing listens.
fn closed_port_url() -> String {
    format!("http://{}", free_loopback_address())
}

/// A stand-in for an overloaded contract-search on a loopback port: 503 with a JSON error on every
/// route. Serves until the test's runtime ends. Returns its base URL.
async fn start_unavailable_stub() -> String {
    let app = axum::Router::new().fallback(|| async {
        let body = json!({"error": {"code": "timeout", "message": "the request took too long"}});
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(body))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// `contract-search serve` (the real binary) on a loopback port over an index of the sample
/// contracts, with one search key.
struct Server {
    base_url: String,
    http: reqwest::Client,
    _child: ChildGuard,
    _scratch: TempDir,
}

impl Server {
    async fn start() -> Server {
        let scratch = TempDir::new().expect("a scratch directory");
        let data_dir = scratch.path().join("data");
        let index_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || build_sample_index(&index_dir)).await.expect("indexing runs");
        let binary = tokio::task::spawn_blocking(contract_search_binary).await.expect("the build runs");
        let http = reqwest::Client::new();
        // The port is picked free and then handed to the server, so another process may take it
        // in between: then the server exits, and the next attempt takes another port.
        for attempt in 1..=3 {
            let address = free_loopback_address().to_string();
            let mut command = Command::new(&binary);
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("CONTRACT_SEARCH_") {
                    command.env_remove(key);
                }
            }
            command
                .arg("serve")
                .arg("--data-dir")
                .arg(&data_dir)
                .args(["--listen", &address, "--rebuild-schedule", "off"])
                .env("CONTRACT_SEARCH_API_KEYS", format!("search={SEARCH_KEY}"));
            let mut child = ChildGuard::spawn(command, &scratch.path().join(format!("serve-{attempt}")));
            let base_url = format!("http://{address}");
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                let ready = http.get(format!("{base_url}/readyz")).send().await;
                if ready.is_ok_and(|answer| answer.status() == StatusCode::OK) {
                    return Server { base_url, http, _child: child, _scratch: scratch };
                }
                if let Some(status) = child.try_wait() {
                    assert!(attempt < 3, "the server exited ({status}) three times{}", child.logs());
                    break;
                }
                assert!(Instant::now() < deadline, "the server was not ready in time{}", child.logs());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        unreachable!("every attempt returns or panics")
    }

    /// `GET path` with the search key: status and JSON body.
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let answer = self.http.get(format!("{}{path}", self.base_url)).bearer_auth(SEARCH_KEY).send().await;
        let answer = answer.expect("the server answers");
        (answer.status(), answer.json().await.expect("a JSON body"))
    }

    /// `POST path` with the search key and a JSON body: the JSON body of the 200 answer.
    async fn post(&self, path: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(SEARCH_KEY)
            .json(body)
            .send()
            .await;
        let answer = answer.expect("the server answers");
        assert_eq!(answer.status(), StatusCode::OK, "POST {path} {body}");
        answer.json().await.expect("a JSON body")
    }

    /// Runs `program` of `language` against this server with `api_key`.
    async fn run(&self, language: &'static Language, program: &str, input: Value, api_key: &str) -> Run {
        run_program(language, program, &input, &self.base_url, api_key).await
    }
}

/// Indexes the sample contracts into a generation in `data_dir`, mapped as the Powercloud
/// connector maps them.
fn build_sample_index(data_dir: &Path) {
    let text = std::fs::read_to_string(sample_dir().join("contracts.ndjson")).expect("the sample contracts");
    let options = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };
    let contracts = text.lines().map(|line| {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        map_contract(&record, &options).expect("sample records map")
    });
    let store_options = StoreOptions {
        build: BuildOptions { num_threads: 2, memory_budget_bytes: 50 << 20 },
        ..StoreOptions::default()
    };
    let store = GenerationStore::open(data_dir, store_options).expect("the data directory opens");
    rebuild_from_contracts(&store, contracts, false).expect("the sample indexes");
}

/// What one executor run printed.
struct Run {
    /// The command line and input, for assertion messages.
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The one JSON value a successful run printed.
    fn json(&self) -> Value {
        assert!(self.status.success(), "{} exited with {}: {}", self.what, self.status, self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!("{} printed no single JSON value ({error}): {:?}", self.what, self.stdout)
        })
    }

    /// Asserts that the run failed with a message on stderr containing `reason` and printed
    /// nothing on stdout.
    fn assert_failed(&self, reason: &str) {
        assert!(!self.status.success(), "{} succeeded and printed {:?}", self.what, self.stdout);
        assert!(self.stdout.trim().is_empty(), "{} failed but printed {:?}", self.what, self.stdout);
        assert!(
            self.stderr.contains(reason),
            "{}: stderr {:?} does not name {reason:?}",
            self.what,
            self.stderr
        );
    }
}

/// Runs `program` of `language` with its interpreter, `input` on stdin and the settings in the
/// environment, on the blocking pool.
async fn run_program(
    language: &'static Language,
    program: &str,
    input: &Value,
    base_url: &str,
    api_key: &str,
) -> Run {
    let path = workspace_dir()
        .join("integrations/enneo")
        .join(language.dir)
        .join(format!("{program}.{}", language.extension));
    let input = input.to_string();
    let (base_url, api_key) = (base_url.to_owned(), api_key.to_owned());
    tokio::task::spawn_blocking(move || run_blocking(language, &path, &input, &base_url, &api_key))
        .await
        .expect("the run does not panic")
}

fn run_blocking(language: &Language, path: &Path, input: &str, base_url: &str, api_key: &str) -> Run {
    let what = format!("{} {} <<< {input} (at {base_url})", language.interpreter, path.display());
    let mut command = Command::new(language.interpreter);
    command
        .arg(path)
        .env("CONTRACT_SEARCH_URL", base_url)
        .env("CONTRACT_SEARCH_API_KEY", api_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for variable in PROXY_VARIABLES {
        command.env_remove(variable);
    }
    let mut child = command.spawn().unwrap_or_else(|error| panic!("{what} does not start: {error}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).unwrap_or_else(|error| panic!("{what}: writing stdin: {error}"));
    drop(stdin);
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("polling the executor") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout.join().expect("reading stdout");
    let stderr = stderr.join().expect("reading stderr");
    Run { what, status, stdout, stderr }
}

/// Reads `pipe` to its end on a thread, so that a full pipe never blocks the child.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("the output is UTF-8");
        text
    })
}
