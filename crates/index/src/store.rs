//! The data directory: generations side by side, a pointer file naming the served one, and the
//! atomic switch between them.
//!
//! ```text
//! <data_dir>/CURRENT                 "g000007\n", replaced atomically (temp file, fsync, rename)
//! <data_dir>/generations/g000006/    the previous generation (kept for retention)
//! <data_dir>/generations/g000007/    the served generation
//! <data_dir>/generations/g000008.partial/   a build in progress (removed at start if it crashed)
//! <data_dir>/build.lock              held while a build runs, so only one runs at a time
//! ```
//!
//! A generation directory is renamed from `.partial` to its final name only after it is
//! committed, merged and validated; only then is `CURRENT` replaced. A crash at any point leaves
//! `CURRENT` naming the last good generation; whatever is newer than it is a leftover and is
//! deleted when the store is opened.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tracing::{info, warn};

use crate::generation::{BuildOptions, BuiltGeneration, Generation, GenerationBuilder, write_synced};
use crate::validate::{ValidationOptions, check_samples, check_shrink};
use crate::{Error, Result};

const CURRENT_FILE: &str = "CURRENT";
const GENERATIONS_DIR: &str = "generations";
const PARTIAL_SUFFIX: &str = ".partial";
const LOCK_FILE: &str = "build.lock";

/// Settings of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Generations kept on disk, the served one included (default 2, at least 1).
    pub retention: usize,
    /// Writer settings for builds.
    pub build: BuildOptions,
    /// Checks before publishing.
    pub validation: ValidationOptions,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retention: 2,
            build: BuildOptions::default(),
            validation: ValidationOptions::default(),
        }
    }
}

/// The generations of one data directory and the one being served.
pub struct GenerationStore {
    root: PathBuf,
    options: StoreOptions,
    current: ArcSwapOption<Generation>,
}

/// Held while a build runs; dropping it releases the build lock.
pub struct BuildLock {
    _file: File,
}

/// `g000007` and `g000007.partial` → 7.
fn parse_generation_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix('g')?;
    let digits = digits.strip_suffix(PARTIAL_SUFFIX).unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|dir| dir.sync_all()).map_err(Error::io("syncing", path))
}

impl GenerationStore {
    /// Opens (or creates) a data directory, removes leftovers of crashed builds, and loads the
    /// generation named by `CURRENT`, if any.
    pub fn open(root: impl Into<PathBuf>, options: StoreOptions) -> Result<GenerationStore> {
        let root = root.into();
        let generations = root.join(GENERATIONS_DIR);
        fs::create_dir_all(&generations).map_err(Error::io("creating", &generations))?;
        let store = GenerationStore { root, options, current: ArcSwapOption::empty() };
        let current_id = store.read_current_pointer()?;
        if let Some(id) = &current_id {
            let generation = Generation::open(&generations.join(id))?;
            info!(generation = %id, num_contracts = generation.num_contracts(), "serving generation");
            store.current.store(Some(Arc::new(generation)));
        }
        // Leftovers are only leftovers if no build is running: another process (a cron
        // `rebuild`, a second server) may be writing its `.partial` directory right now.
        match store.try_build_lock()? {
            Some(_lock) => store.remove_leftovers(current_id.as_deref())?,
            None => info!("a build is running on this data directory; leaving its files alone"),
        }
        Ok(store)
    }

    /// The build lock if it is free, `None` if a build holds it.
    fn try_build_lock(&self) -> Result<Option<BuildLock>> {
        let lock_path = self.root.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Error::io("opening", &lock_path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(BuildLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(error)) => Err(Error::io("locking", &lock_path)(error)),
        }
    }

    /// Whether a build holds the build lock right now (in this or another process).
    pub fn build_running(&self) -> Result<bool> {
        Ok(self.try_build_lock()?.is_none())
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The served generation, if one was ever published.
    pub fn current(&self) -> Option<Arc<Generation>> {
        self.current.load_full()
    }

    /// Picks up a generation that another process (a `rebuild` from cron) published: if
    /// `CURRENT` names another generation than the served one, opens it and switches to it.
    /// Returns whether it switched.
    pub fn refresh(&self) -> Result<bool> {
        let Some(id) = self.read_current_pointer()? else {
            return Ok(false);
        };
        if self.current().is_some_and(|generation| generation.id() == id) {
            return Ok(false);
        }
        let generation = Generation::open(&self.root.join(GENERATIONS_DIR).join(&id))?;
        info!(generation = %id, num_contracts = generation.num_contracts(), "switched to a generation published by another process");
        self.current.store(Some(Arc::new(generation)));
        Ok(true)
    }

    fn read_current_pointer(&self) -> Result<Option<String>> {
        let path = self.root.join(CURRENT_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim().to_owned();
                if parse_generation_number(&id).is_none() || id.ends_with(PARTIAL_SUFFIX) {
                    return Err(Error::DataDir { path, reason: format!("names no generation: {id:?}") });
                }
                Ok(Some(id))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::io("reading", &path)(error)),
        }
    }

    /// Generation directory names with their numbers, oldest first.
    fn list_generations(&self) -> Result<Vec<(u64, String)>> {
        let dir = self.root.join(GENERATIONS_DIR);
        let mut found = Vec::new();
        for entry in fs::read_dir(&dir).map_err(Error::io("listing", &dir))? {
            let entry = entry.map_err(Error::io("listing", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(number) = parse_generation_number(&name) {
                found.push((number, name));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Deletes partial builds and finished-but-unpublished generations (newer than `CURRENT`).
    fn remove_leftovers(&self, current: Option<&str>) -> Result<()> {
        let current_number = current.and_then(parse_generation_number).unwrap_or(0);
        for (number, name) in self.list_generations()? {
            if name.ends_with(PARTIAL_SUFFIX) || number > current_number {
                warn!(generation = %name, "removing leftover of an interrupted build");
                self.remove_generation_dir(&name);
            }
        }
        Ok(())
    }

    fn remove_generation_dir(&self, name: &str) {
        let path = self.root.join(GENERATIONS_DIR).join(name);
        if let Err(error) = fs::remove_dir_all(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            warn!(generation = %name, %error, "could not remove generation directory");
        }
    }

    /// Takes the build lock (one build at a time, across processes) and starts a new generation
    /// in a `.partial` directory.
    pub fn begin_build(&self) -> Result<(GenerationBuilder, BuildLock)> {
        let lock = self.try_build_lock()?.ok_or(Error::BuildRunning)?;
        let next = self.list_generations()?.last().map_or(1, |(number, _)| number + 1);
        let id = format!("g{next:06}");
        let dir = self.root.join(GENERATIONS_DIR).join(format!("{id}{PARTIAL_SUFFIX}"));
        let mut builder = GenerationBuilder::create(id, dir, &self.options.build)?;
        if let Some(served) = self.current() {
            builder.start_from(served.commit_payload()?);
        }
        Ok((builder, lock))
    }

    /// Validates a built generation and, if it passes, makes it the served one; otherwise it is
    /// deleted and the served generation stays. `allow_shrink` overrides the shrink guard once.
    pub fn publish(&self, built: BuiltGeneration, allow_shrink: bool) -> Result<Arc<Generation>> {
        let id = built.meta.id.clone();
        let partial_name = format!("{id}{PARTIAL_SUFFIX}");
        let served = self.current().map(|generation| generation.num_contracts());
        let validation = ValidationOptions {
            allow_shrink: allow_shrink || self.options.validation.allow_shrink,
            ..self.options.validation
        };
        if let Err(reason) = check_shrink(built.meta.num_contracts, served, &validation) {
            self.remove_generation_dir(&partial_name);
            return Err(Error::Validation { generation: id, reason });
        }
        let generations = self.root.join(GENERATIONS_DIR);
        let final_dir = generations.join(&id);
        fs::rename(&built.dir, &final_dir).map_err(Error::io("renaming", &built.dir))?;
        sync_dir(&generations)?;
        let generation = match Generation::open(&final_dir).and_then(|generation| {
            check_samples(&generation, &built.samples)?;
            Ok(generation)
        }) {
            Ok(generation) => generation,
            Err(error) => {
                self.remove_generation_dir(&id);
                return Err(error);
            }
        };
        let temp = self.root.join(format!("{CURRENT_FILE}.tmp"));
        write_synced(&temp, format!("{id}\n").as_bytes())?;
        let pointer = self.root.join(CURRENT_FILE);
        fs::rename(&temp, &pointer).map_err(Error::io("renaming", &temp))?;
        sync_dir(&self.root)?;
        let generation = Arc::new(generation);
        self.current.store(Some(generation.clone()));
        info!(generation = %id, num_contracts = built.meta.num_contracts, "generation published");
        self.apply_retention(&id)?;
        Ok(generation)
    }

    /// Drops a build that will not be published.
    pub fn discard(&self, dir: &Path) {
        if let Some(name) = dir.file_name().and_then(|name| name.to_str()) {
            self.remove_generation_dir(name);
        }
    }

    /// Keeps the served generation and the newest older ones up to the retention count.
    fn apply_retention(&self, current: &str) -> Result<()> {
        let keep = self.options.retention.max(1);
        let current_number = parse_generation_number(current).unwrap_or(0);
        let finished: Vec<(u64, String)> = self
            .list_generations()?
            .into_iter()
            .filter(|(number, name)| !name.ends_with(PARTIAL_SUFFIX) && *number <= current_number)
            .collect();
        let excess = finished.len().saturating_sub(keep);
        for (_, name) in finished.into_iter().take(excess) {
            info!(generation = %name, "removing old generation");
            self.remove_generation_dir(&name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
