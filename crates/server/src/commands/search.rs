//! `contract-search search`: run one search against the served generation from the command
//! line (for operators checking an index, and for tuning). Prints JSON.

use std::sync::Arc;

use anyhow::Context;
use contract_search_index::GenerationStore;
use contract_search_model::FieldsQuery;
use contract_search_query::{ContractSearch, FieldsSettings};

use crate::config::CommonArgs;

/// Options of `search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Free text, as an agent types it.
    #[arg(long, conflicts_with = "fields")]
    pub text: Option<String>,
    /// A fields-search input as JSON (what enneo's AI extracted); answered with explanation.
    #[arg(long)]
    pub fields: Option<String>,
    /// Most contracts listed for free text.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

/// Runs `search`.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let settings = args.common.resolve()?;
    let store = Arc::new(GenerationStore::open(&settings.data_dir, settings.store.clone())?);
    let search = ContractSearch::new(store, FieldsSettings::default());
    let answer = match (&args.text, &args.fields) {
        (Some(text), _) => serde_json::to_value(search.contracts(text, args.limit)?)?,
        (None, Some(fields)) => {
            let query: FieldsQuery =
                serde_json::from_str(fields).context("--fields is not a fields-search input")?;
            serde_json::to_value(search.fields(&query, true)?)?
        }
        (None, None) => anyhow::bail!("give --text or --fields"),
    };
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
