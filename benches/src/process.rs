//! Servers under test in their own processes: started, waited for, measured, and killed when
//! dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A free port on 127.0.0.1 (bound, read, released; a race with other programs is unlikely).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A child process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl ServerProcess {
    /// `contract-search serve` on `data_dir`, on a free loopback port, with `api_key` as its
    /// search key, no schedule, and logs at warn; waits until `/readyz` answers 200.
    pub fn contract_search(binary: &Path, data_dir: &Path, api_key: &str) -> anyhow::Result<ServerProcess> {
        anyhow::ensure!(
            binary.exists(),
            "{} is missing: build it first with `cargo build --release -p contract-search`",
            binary.display()
        );
        let port = free_port()?;
        let child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--rebuild-schedule", "off"])
            .env("CONTRACT_SEARCH_API_KEYS", format!("search={api_key},admin={api_key}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut server = ServerProcess { child, base_url: format!("http://127.0.0.1:{port}") };
        server.wait_ready("/readyz", Duration::from_secs(120))?;
        Ok(server)
    }

    /// Wraps a started child serving on `base_url`.
    pub fn from_child(child: Child, base_url: String) -> ServerProcess {
        ServerProcess { child, base_url }
    }

    /// Polls `path` until it answers 200, the process exits, or `timeout` passes.
    pub fn wait_ready(&mut self, path: &str, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let address = self.base_url.trim_start_matches("http://").to_owned();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited while starting: {status}");
            }
            if http_get_status(&address, path).is_ok_and(|status| status == 200) {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("the server was not ready within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size of the server so far (`VmHWM`).
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking `GET` returning the status code (for readiness polls).
fn http_get_status(address: &str, path: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))
}
