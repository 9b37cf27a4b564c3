//! Memory of a server made of several processes (PostgreSQL: the postmaster, its backends and
//! the HTTP peer): the summed proportional set size (PSS) of a process tree, sampled
//! periodically for its peak. PSS counts shared pages (PostgreSQL's shared buffers, mapped
//! index files) once over all the processes that share them, so sums are not inflated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The proportional set size of `pid` (`Pss` of `/proc/PID/smaps_rollup`), if readable.
pub fn pss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|line| line.starts_with("Pss:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The parent pid in the text of `/proc/PID/stat` (the command name in parentheses may hold
/// spaces and parentheses itself).
pub fn parent_pid(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// `roots` and all their descendants that are alive.
pub fn process_tree(roots: &[u32]) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(parent) =
                std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(parent_pid)
            {
                parents.push((pid, parent));
            }
        }
    }
    let mut tree: Vec<u32> =
        roots.iter().copied().filter(|root| parents.iter().any(|(pid, _)| pid == root)).collect();
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        for (pid, _) in parents.iter().filter(|(_, of)| *of == parent) {
            if !tree.contains(pid) {
                tree.push(*pid);
            }
        }
        index += 1;
    }
    tree
}

/// Summed PSS of `roots` and their descendants.
pub fn tree_pss_bytes(roots: &[u32]) -> u64 {
    process_tree(roots).into_iter().filter_map(pss_bytes).sum()
}

/// Samples [`tree_pss_bytes`] on a thread of its own until stopped; keeps the peak.
pub struct MemorySampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl MemorySampler {
    /// Starts sampling the trees of `roots` every `interval`.
    pub fn start(roots: Vec<u32>, interval: Duration) -> MemorySampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(tree_pss_bytes(&roots), Ordering::Relaxed);
                    std::thread::sleep(interval);
                }
            })
        };
        MemorySampler { stop, peak, thread: Some(thread) }
    }

    /// The peak so far.
    pub fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Stops sampling and returns the peak.
    pub fn stop(mut self) -> u64 {
        self.finish();
        self.peak_bytes()
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MemorySampler {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pid_survives_odd_command_names() {
        assert_eq!(parent_pid("1234 (postgres: checkpointer ) S 77 1234 1234 0 -1"), Some(77));
        assert_eq!(parent_pid("9 (a) b) R 1 9 9"), Some(1));
        assert_eq!(parent_pid("garbage"), None);
    }

    #[test]
    fn this_process_tree_has_memory_and_children_count() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let tree = process_tree(&[me]);
        assert_eq!(tree[0], me);
        assert!(tree.contains(&child.id()), "{tree:?}");
        assert!(process_tree(&[u32::MAX - 1]).is_empty(), "no such process");
        let mine = pss_bytes(me).unwrap();
        assert!(mine > 1024 * 1024);
        assert!(tree_pss_bytes(&[me]) >= mine);
        let sampler = MemorySampler::start(vec![me], Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(50));
        assert!(sampler.stop() > 1024 * 1024);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
