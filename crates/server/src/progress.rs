//! Progress of long work: a bar on a terminal, structured log lines every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use contract_search_ingest::rebuild::{ProgressFn, RebuildProgress};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;

const LOG_EVERY: Duration = Duration::from_secs(5);

/// A progress reporter for a rebuild, and the bar to finish when it is done.
pub fn rebuild_progress() -> (ProgressFn, Option<ProgressBar>) {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}").expect("the template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let shown = bar.clone();
        let report: ProgressFn = Arc::new(move |progress: RebuildProgress| {
            let eta =
                progress.eta().map(|eta| format!(", about {}s left", eta.as_secs())).unwrap_or_default();
            shown.set_message(format!(
                "{} contracts indexed, {:.0}/s{eta}",
                progress.num_indexed,
                progress.rate()
            ));
        });
        (report, Some(bar))
    } else {
        let last = Mutex::new(Instant::now());
        let report: ProgressFn = Arc::new(move |progress: RebuildProgress| {
            let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.elapsed() >= LOG_EVERY {
                *last = Instant::now();
                info!(
                    num_indexed = progress.num_indexed,
                    contracts_per_sec = progress.rate() as u64,
                    eta_secs = progress.eta().map(|eta| eta.as_secs()),
                    "rebuilding"
                );
            }
        });
        (report, None)
    }
}
