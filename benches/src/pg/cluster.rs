//! A private PostgreSQL 15 cluster for the benchmark: Debian's packages (installed when missing),
//! `initdb` into a directory of our choosing, the tuned settings below, `pg_ctl start` on
//! 127.0.0.1 and a port of our choosing, and `pg_ctl stop` when the [`Cluster`] is dropped.
//!
//! # Settings
//!
//! Tuned as one would for the benchmark machine (2 cores, 24 GiB RAM, SSD, a few GB of data,
//! a read-mostly workload of short index look-ups and trigram searches from a handful of
//! connections, and a nightly bulk reload). The memory settings scale with the machine's RAM
//! (the figures are those of 24 GiB), so that the CI smoke starts on a small machine as well:
//!
//! | setting | value | why |
//! |---|---|---|
//! | `shared_buffers` | RAM/4, at most 8GB (6GB) | a quarter of RAM (the usual starting point); the whole table and its indexes fit at 1.5M contracts |
//! | `effective_cache_size` | RAM·2/3 (16GB) | shared buffers plus the page cache the OS will keep; makes the planner trust index scans |
//! | `work_mem` | 32MB | few connections, so sorts and bitmaps of trigram candidates stay in memory |
//! | `maintenance_work_mem` | RAM/8, at most 2GB (2GB) | GIN (trigram) index builds are much faster when the whole posting lists fit in memory |
//! | `max_worker_processes`, `max_parallel_workers` | 4, 2 | two cores |
//! | `max_parallel_workers_per_gather` | 0 | queries are short; under concurrent load on two cores a parallel plan only adds start-up cost and steals the other core |
//! | `max_parallel_maintenance_workers` | 2 | parallel B-tree builds during the load |
//! | `random_page_cost`, `effective_io_concurrency` | 1.1, 200 | SSD and a mostly cached data set: random reads are not 4x sequential ones |
//! | `jit` | off | JIT compilation costs milliseconds and never pays off on millisecond queries |
//! | `wal_level`, `max_wal_senders`, `archive_mode` | minimal, 0, off | the table is a cache reloaded from the ERP: with minimal WAL, `COPY` into a table created in the same transaction and `CREATE INDEX` write no WAL |
//! | `synchronous_commit` | off | a lost last commit after a crash is reloaded anyway; no fsync wait per commit |
//! | `max_wal_size`, `checkpoint_timeout` | 8GB, 30min | no forced checkpoints in the middle of a load |
//! | `autovacuum` | on | left on; the loader writes the rows frozen and runs `VACUUM (ANALYZE)` itself right after the load |
//! | `max_connections` | 40 | a pool of a few connections per server, plus maintenance |
//! | `listen_addresses`, `unix_socket_directories` | 127.0.0.1, the data directory | private to this machine, independent of `/var/run/postgresql` |
//!
//! `fsync` stays on: the load must survive a crash as it would in production. Authentication is
//! `trust` on loopback only, since the cluster is private to one benchmark run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail, ensure};

/// The database the peer loads into and serves from.
pub const DATABASE: &str = "contracts";
/// The superuser `initdb` creates; also the role the peer connects as.
pub const SUPERUSER: &str = "postgres";
/// Where Debian's `postgresql-15` package puts its server programs.
pub const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// The file (in the data directory) that holds [`settings`]; rewritten on every start.
const SETTINGS_FILE: &str = "contract_search_peer.conf";

/// The tuned settings for a machine with `memory_bytes` of RAM (see the module documentation
/// for the reasons): memory settings scale with the machine, the rest are fixed.
pub fn settings(memory_bytes: u64) -> Vec<(&'static str, String)> {
    const MIB: u64 = 1024 * 1024;
    let memory_mib = memory_bytes / MIB;
    let shared_buffers = (memory_mib / 4).clamp(128, 8 * 1024);
    let effective_cache_size = (memory_mib * 2 / 3).max(shared_buffers);
    let maintenance_work_mem = (memory_mib / 8).clamp(64, 2 * 1024);
    let mut settings = vec![
        ("shared_buffers", format!("{shared_buffers}MB")),
        ("effective_cache_size", format!("{effective_cache_size}MB")),
        ("maintenance_work_mem", format!("{maintenance_work_mem}MB")),
    ];
    settings.extend(FIXED_SETTINGS.iter().map(|(name, value)| (*name, (*value).to_owned())));
    settings
}

/// The settings that do not depend on the machine's memory.
pub const FIXED_SETTINGS: &[(&str, &str)] = &[
    ("work_mem", "32MB"),
    ("max_worker_processes", "4"),
    ("max_parallel_workers", "2"),
    ("max_parallel_workers_per_gather", "0"),
    ("max_parallel_maintenance_workers", "2"),
    ("random_page_cost", "1.1"),
    ("effective_io_concurrency", "200"),
    ("jit", "off"),
    ("wal_level", "minimal"),
    ("max_wal_senders", "0"),
    ("archive_mode", "off"),
    ("synchronous_commit", "off"),
    ("max_wal_size", "8GB"),
    ("checkpoint_timeout", "30min"),
    ("max_connections", "40"),
    ("listen_addresses", "'127.0.0.1'"),
];

/// Total memory of this machine (`MemTotal` of `/proc/meminfo`), or 4 GiB when unknown.
pub fn machine_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(4 << 30, |kib| kib * 1024)
}

/// A running PostgreSQL cluster, stopped when dropped (or with [`Cluster::stop`]).
#[derive(Debug)]
pub struct Cluster {
    data_dir: PathBuf,
    port: u16,
    running: bool,
}

impl Cluster {
    /// Starts a cluster in `data_dir` (created and initialised when it holds none yet) on
    /// 127.0.0.1:`port`, with [`settings`], and makes sure the database [`DATABASE`] exists.
    /// Installs Debian's `postgresql` package first when `initdb` is missing. Blocking (it runs
    /// `initdb`, `pg_ctl` and `psql`): call it from `spawn_blocking` inside an async runtime.
    pub fn start(data_dir: &Path, port: u16) -> anyhow::Result<Cluster> {
        ensure_installed()?;
        let data_dir = absolute(data_dir)?;
        prepare_data_dir(&data_dir)?;
        write_settings(&data_dir, port)?;
        if is_running(&data_dir)? {
            bail!(
                "a PostgreSQL server is already running on {}; stop it first (pg-peer cluster-stop --dir {})",
                data_dir.display(),
                data_dir.display()
            );
        }
        let log = data_dir.join("server.log");
        run_as_postgres(
            pg_bin("pg_ctl"),
            &[
                "-D".as_ref(),
                data_dir.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "120".as_ref(),
                "start".as_ref(),
            ],
        )
        .with_context(|| format!("starting PostgreSQL (its log: {})", log.display()))?;
        let cluster = Cluster { data_dir, port, running: true };
        cluster.create_database()?;
        Ok(cluster)
    }

    /// The connection string of [`DATABASE`] (key-value form, as `tokio_postgres` and `psql`
    /// take it).
    pub fn database_url(&self) -> String {
        database_url(self.port)
    }

    /// The port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the cluster (fast shutdown: open connections are closed).
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.running = false;
        stop(&self.data_dir)
    }

    /// Leaves the cluster running after this value is gone (for the `cluster-start` command);
    /// stop it later with [`stop`].
    pub fn detach(mut self) {
        self.running = false;
    }

    fn create_database(&self) -> anyhow::Result<()> {
        let port = self.port.to_string();
        let psql = |sql: &str| -> anyhow::Result<String> {
            let output = run_as_postgres(
                pg_bin("psql"),
                &[
                    "-h".as_ref(),
                    "127.0.0.1".as_ref(),
                    "-p".as_ref(),
                    port.as_ref(),
                    "-U".as_ref(),
                    SUPERUSER.as_ref(),
                    "-d".as_ref(),
                    "postgres".as_ref(),
                    "-v".as_ref(),
                    "ON_ERROR_STOP=1".as_ref(),
                    "-tAc".as_ref(),
                    sql.as_ref(),
                ],
            )?;
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let exists = psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"))?;
        if exists != "1" {
            // Byte-order collation: suffix ranges over reversed keys and plain `<`/`>` on ASCII
            // keys behave predictably; C.UTF-8 character classes keep trigrams of non-ASCII
            // letters.
            psql(&format!(
                "CREATE DATABASE {DATABASE} TEMPLATE template0 ENCODING 'UTF8' \
                 LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
            ))
            .context("creating the database")?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            if let Err(error) = stop(&self.data_dir) {
                tracing::warn!(error = %format!("{error:#}"), "stopping PostgreSQL failed");
            }
        }
    }
}

/// The connection string of [`DATABASE`] on a local cluster listening on `port`.
pub fn database_url(port: u16) -> String {
    format!("host=127.0.0.1 port={port} user={SUPERUSER} dbname={DATABASE}")
}

/// Stops the cluster in `data_dir` if one runs there (fast shutdown).
pub fn stop(data_dir: &Path) -> anyhow::Result<()> {
    let data_dir = absolute(data_dir)?;
    if !is_running(&data_dir)? {
        return Ok(());
    }
    run_as_postgres(
        pg_bin("pg_ctl"),
        &[
            "-D".as_ref(),
            data_dir.as_os_str(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-w".as_ref(),
            "stop".as_ref(),
        ],
    )
    .with_context(|| format!("stopping PostgreSQL in {}", data_dir.display()))?;
    Ok(())
}

fn pg_bin(name: &str) -> PathBuf {
    Path::new(BIN_DIR).join(name)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// Installs Debian's `postgresql` package (PostgreSQL 15 with `pg_trgm`) when `initdb` is
/// missing.
fn ensure_installed() -> anyhow::Result<()> {
    if pg_bin("initdb").exists() {
        return Ok(());
    }
    ensure!(is_root()?, "PostgreSQL 15 is not installed ({BIN_DIR}/initdb is missing) and we are not root");
    tracing::info!("installing postgresql from the Debian packages");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    if !install().context("running apt-get install")?.success() {
        let updated = Command::new("apt-get").arg("update").status().context("running apt-get update")?;
        ensure!(updated.success(), "apt-get update failed");
        ensure!(install()?.success(), "apt-get install -y postgresql failed");
    }
    ensure!(pg_bin("initdb").exists(), "postgresql is installed but {BIN_DIR}/initdb is still missing");
    Ok(())
}

/// Creates the data directory (owned by `postgres` when we are root) and runs `initdb` in it
/// unless it holds a cluster already.
fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.join("PG_VERSION").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let is_empty = std::fs::read_dir(data_dir)?.next().is_none();
    ensure!(is_empty, "{} is neither empty nor a PostgreSQL data directory", data_dir.display());
    if is_root()? {
        let owner = format!("{SUPERUSER}:{SUPERUSER}");
        let status = Command::new("chown")
            .arg(&owner)
            .arg(data_dir)
            .status()
            .context("running chown on the data directory")?;
        ensure!(status.success(), "chown {owner} {} failed", data_dir.display());
        // initdb needs to reach the directory as `postgres` (a parent under /root would not do).
        run_as_postgres("test".into(), &["-w".as_ref(), data_dir.as_os_str()]).with_context(|| {
            format!("the postgres user cannot write {}: choose a directory it can reach", data_dir.display())
        })?;
    }
    run_as_postgres(
        pg_bin("initdb"),
        &[
            "-D".as_ref(),
            data_dir.as_os_str(),
            "--username".as_ref(),
            SUPERUSER.as_ref(),
            "--encoding".as_ref(),
            "UTF8".as_ref(),
            "--lc-collate".as_ref(),
            "C".as_ref(),
            "--lc-ctype".as_ref(),
            "C.UTF-8".as_ref(),
            "--auth-local".as_ref(),
            "trust".as_ref(),
            "--auth-host".as_ref(),
            "trust".as_ref(),
        ],
    )
    .context("initialising the cluster (initdb)")?;
    Ok(())
}

/// The settings file for `port`, and the `include` that makes `postgresql.conf` read it.
fn settings_text(data_dir: &Path, port: u16) -> String {
    let mut text = String::from("# Written by pg-peer on every start; see benches/src/pg/cluster.rs.\n");
    for (name, value) in settings(machine_memory_bytes()) {
        text.push_str(&format!("{name} = {value}\n"));
    }
    text.push_str(&format!("port = {port}\n"));
    text.push_str(&format!("unix_socket_directories = '{}'\n", data_dir.display()));
    text
}

fn write_settings(data_dir: &Path, port: u16) -> anyhow::Result<()> {
    let settings_path = data_dir.join(SETTINGS_FILE);
    std::fs::write(&settings_path, settings_text(data_dir, port))
        .with_context(|| format!("writing {}", settings_path.display()))?;
    let conf_path = data_dir.join("postgresql.conf");
    let conf =
        std::fs::read_to_string(&conf_path).with_context(|| format!("reading {}", conf_path.display()))?;
    let include = format!("include_if_exists = '{SETTINGS_FILE}'");
    if !conf.contains(&include) {
        std::fs::write(&conf_path, format!("{conf}\n{include}\n"))
            .with_context(|| format!("writing {}", conf_path.display()))?;
    }
    if is_root()? {
        let status = Command::new("chown")
            .arg(format!("{SUPERUSER}:{SUPERUSER}"))
            .arg(&settings_path)
            .arg(&conf_path)
            .status()
            .context("running chown on the settings")?;
        ensure!(status.success(), "chown of the settings files failed");
    }
    Ok(())
}

/// Whether a server runs on `data_dir` (`pg_ctl status` exits 0; 3 means not running).
fn is_running(data_dir: &Path) -> anyhow::Result<bool> {
    if !data_dir.join("postmaster.pid").exists() {
        return Ok(false);
    }
    let status = as_postgres(pg_bin("pg_ctl"), &["-D".as_ref(), data_dir.as_os_str(), "status".as_ref()])?
        .output()
        .context("running pg_ctl status")?
        .status;
    Ok(status.success())
}

/// Whether this process runs as root (effective uid 0, from `/proc/self/status`).
fn is_root() -> anyhow::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let effective_uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .context("no Uid line in /proc/self/status")?;
    Ok(effective_uid == "0")
}

/// `program args`, as the `postgres` user when we are root (the server refuses to run as root).
fn as_postgres(program: PathBuf, args: &[&std::ffi::OsStr]) -> anyhow::Result<Command> {
    let mut command = if is_root()? {
        let mut command = Command::new("runuser");
        command.args(["-u", SUPERUSER, "--"]).arg(&program);
        command
    } else {
        Command::new(&program)
    };
    command.args(args).current_dir("/");
    Ok(command)
}

fn run_as_postgres(program: PathBuf, args: &[&std::ffi::OsStr]) -> anyhow::Result<Output> {
    let name = program.display().to_string();
    let output = as_postgres(program, args)?.output().with_context(|| format!("running {name}"))?;
    if !output.status.success() {
        bail!(
            "{name} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_port_and_socket_directory() {
        let text = settings_text(Path::new("/tmp/pg"), 55432);
        assert!(text.contains("port = 55432\n"), "{text}");
        assert!(text.contains("unix_socket_directories = '/tmp/pg'\n"), "{text}");
        assert!(text.contains("wal_level = minimal\n"), "{text}");
        assert!(text.contains("listen_addresses = '127.0.0.1'\n"), "{text}");
        assert_eq!(database_url(5), "host=127.0.0.1 port=5 user=postgres dbname=contracts");
    }

    #[test]
    fn memory_settings_scale_with_the_machine() {
        let value = |memory: u64, name: &str| {
            settings(memory).into_iter().find(|(setting, _)| *setting == name).unwrap().1
        };
        let gib = 1u64 << 30;
        assert_eq!(value(24 * gib, "shared_buffers"), "6144MB");
        assert_eq!(value(24 * gib, "effective_cache_size"), "16384MB");
        assert_eq!(value(24 * gib, "maintenance_work_mem"), "2048MB");
        assert_eq!(value(2 * gib, "shared_buffers"), "512MB");
        assert_eq!(value(2 * gib, "maintenance_work_mem"), "256MB");
        assert_eq!(value(256 * gib, "shared_buffers"), "8192MB");
        assert_eq!(value(24 * gib, "work_mem"), "32MB");
        assert!(settings(gib).iter().all(|(_, value)| !value.is_empty()));
    }
}
