//! `contract-search eval`: quality of the searches on labelled queries.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use contract_search_index::GenerationStore;
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_ingest::rebuild::rebuild_from_contracts;
use contract_search_query::{ContractSearch, FieldsSettings};
use contract_search_sim::queries::LabelledQuery;

use crate::config::CommonArgs;
use crate::eval::evaluate;

/// Options of `eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Labelled queries (NDJSON from `generate`).
    #[arg(long)]
    pub queries: PathBuf,
    /// Index these raw Powercloud contract records (NDJSON from `generate`) into the data
    /// directory first, replacing what it holds.
    #[arg(long)]
    pub raw_contracts: Option<PathBuf>,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the queries answered wrongly or not at all here (NDJSON, with the answers).
    #[arg(long)]
    pub failures: Option<PathBuf>,
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<Vec<T>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .map(|(number, line)| {
            let line = line?;
            serde_json::from_str(&line).with_context(|| format!("{} line {}", path.display(), number + 1))
        })
        .collect()
}

/// Runs `eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let settings = args.common.resolve()?;
    let store = Arc::new(GenerationStore::open(&settings.data_dir, settings.store.clone())?);
    if let Some(path) = &args.raw_contracts {
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let options = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };
        let mut failure = None;
        let contracts = std::io::BufReader::new(file).lines().map_while(|line| {
            let mapped = line
                .map_err(anyhow::Error::from)
                .and_then(|line| Ok(serde_json::from_str::<serde_json::Value>(&line)?))
                .and_then(|record| Ok(map_contract(&record, &options)?));
            match mapped {
                Ok(contract) => Some(contract),
                Err(error) => {
                    failure = Some(error);
                    None
                }
            }
        });
        let report = rebuild_from_contracts(&store, contracts, true)?;
        if let Some(error) = failure {
            return Err(error.context(format!("reading {}", path.display())));
        }
        eprintln!("indexed {} contracts in {:.1} s", report.num_contracts, report.elapsed.as_secs_f64());
    }
    let queries: Vec<LabelledQuery> = read_lines(&args.queries)?;
    let search = ContractSearch::new(store, FieldsSettings::default());
    let report = evaluate(&search, &queries)?;
    print!("{}", report.markdown());
    if let Some(path) = &args.failures {
        let lines: Vec<String> = report.failures.iter().map(|failure| failure.to_string()).collect();
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let value = serde_json::json!({ "categories": report.categories, "summary": report.summary() });
        std::fs::write(path, serde_json::to_string_pretty(&value)? + "\n")?;
    }
    Ok(())
}
