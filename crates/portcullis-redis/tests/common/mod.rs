//! Shared helpers for the Redis integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::process::Stdio;
use std::time::Duration;

use portcullis_core::{OsRandom, SecureRandom};
use portcullis_redis::{RedisBackend, RedisConfig};
use portcullis_testkit::ManualClock;
use tokio::process::{Child, Command};

/// The shared server's URL, or `None` after printing loudly that the test is skipped.
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("PORTCULLIS_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            // Written to the stderr handle directly: libtest captures `eprintln!` of
            // passing tests, and a skip must be visible.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** SKIPPED {test}: PORTCULLIS_TEST_REDIS_URL is not set (CI sets it to redis://127.0.0.1:6379) ***\n"
                )
                .as_bytes(),
            );
            None
        }
    }
}

/// A key prefix no other test (or engineer) uses.
pub fn unique_prefix(tag: &str) -> String {
    let mut r = [0u8; 8];
    OsRandom.fill(&mut r).unwrap();
    format!("ptest:{tag}:{}", hex::encode(r))
}

pub fn config(tag: &str) -> RedisConfig {
    RedisConfig::new()
        .prefix(unique_prefix(tag))
        .command_timeout(Duration::from_secs(2))
}

/// A backend on `url` with a fresh prefix, reading time from `clock` (a deterministic provider).
pub async fn backend(url: &str, tag: &str, clock: ManualClock) -> RedisBackend {
    RedisBackend::connect(url, config(tag), clock.provider(0))
        .await
        .unwrap_or_else(|e| panic!("cannot reach redis at {url}: {e}"))
}

/// A `redis-server` this test owns, on its own port, without persistence.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl PrivateRedis {
    pub async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed for the outage tests");
        let me = Self {
            port,
            child: Some(child),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return me;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private redis-server on port {port} did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
    }
}

/// Runs a raw command on a fresh connection to `url`.
pub async fn raw(url: &str, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await.unwrap()
}

/// Where a suite runs: the shared single server, the 3-master cluster, the TLS server,
/// or the 3-master TLS cluster (all started by `.ci/run` through
/// `scripts/test-servers.sh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Single,
    Cluster,
    Tls,
    ClusterTls,
}

impl Target {
    fn var(self) -> &'static str {
        match self {
            Target::Single => "PORTCULLIS_TEST_REDIS_URL",
            Target::Cluster => "PORTCULLIS_TEST_REDIS_CLUSTER_URLS",
            Target::Tls => "PORTCULLIS_TEST_REDIS_TLS_URL",
            Target::ClusterTls => "PORTCULLIS_TEST_REDIS_TLS_CLUSTER_URLS",
        }
    }

    /// The target's URL(s), or `None` after printing loudly that the test is skipped.
    pub fn url(self, test: &str) -> Option<String> {
        if let Ok(url) = std::env::var(self.var()) {
            return Some(url);
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "\n*** SKIPPED {test} ({self:?}): {} is not set (.ci/run sets it; locally: eval \"$(scripts/test-servers.sh start)\") ***\n",
                self.var()
            )
            .as_bytes(),
        );
        None
    }

    pub fn config(self, tag: &str) -> RedisConfig {
        let c = config(tag);
        match self {
            Target::Single => c,
            Target::Cluster => c.cluster(),
            Target::Tls => {
                c.tls(portcullis_redis::TlsOptions::new().root_ca_pem(tls_file("ca.crt")))
            }
            Target::ClusterTls => c
                .cluster()
                .tls(portcullis_redis::TlsOptions::new().root_ca_pem(tls_file("ca.crt"))),
        }
    }

    pub async fn backend(self, url: &str, tag: &str, clock: ManualClock) -> RedisBackend {
        RedisBackend::connect(url, self.config(tag), clock.provider(0))
            .await
            .unwrap_or_else(|e| panic!("cannot reach the {self:?} redis target: {e}"))
    }
}

/// A file of the run-time test PKI (`PORTCULLIS_TEST_TLS_DIR`).
pub fn tls_file(name: &str) -> Vec<u8> {
    let dir = std::env::var("PORTCULLIS_TEST_TLS_DIR")
        .expect("PORTCULLIS_TEST_TLS_DIR must be set with PORTCULLIS_TEST_REDIS_TLS_URL");
    std::fs::read(std::path::Path::new(&dir).join(name))
        .unwrap_or_else(|e| panic!("cannot read {name} in {dir}: {e}"))
}

/// A 3-master Redis Cluster this test owns (its own ports and directory, no
/// persistence, `cluster-require-full-coverage no` so a dead master fails only its own
/// slots).
pub struct PrivateCluster {
    pub ports: Vec<u16>,
    dir: std::path::PathBuf,
    children: Vec<Option<Child>>,
}

impl PrivateCluster {
    fn spawn_node(dir: &std::path::Path, port: u16) -> Child {
        let node_dir = dir.join(port.to_string());
        std::fs::create_dir_all(&node_dir).unwrap();
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &node_dir.join("nodes.conf").to_string_lossy(),
                "--cluster-node-timeout",
                "1000",
                "--cluster-require-full-coverage",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &node_dir.to_string_lossy(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed for the cluster tests")
    }

    async fn wait_port(port: u16) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cluster node on port {port} did not start");
    }

    pub async fn start() -> Self {
        let mut r = [0u8; 6];
        OsRandom.fill(&mut r).unwrap();
        let dir = std::env::temp_dir().join(format!("portcullis-cluster-{}", hex::encode(r)));
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut children = Vec::new();
        for &p in &ports {
            children.push(Some(Self::spawn_node(&dir, p)));
        }
        for &p in &ports {
            Self::wait_port(p).await;
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for &p in &ports {
            create.arg(format!("127.0.0.1:{p}"));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "redis-cli --cluster create failed");
        let me = Self {
            ports,
            dir,
            children,
        };
        me.wait_ok().await;
        me
    }

    /// Waits until every live node reports `cluster_state:ok`.
    pub async fn wait_ok(&self) {
        for _ in 0..200 {
            let mut ok = true;
            for (i, &p) in self.ports.iter().enumerate() {
                if self.children[i].is_none() {
                    continue;
                }
                let info = Command::new("redis-cli")
                    .args(["-p", &p.to_string(), "cluster", "info"])
                    .output()
                    .await
                    .unwrap();
                ok &= String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok");
            }
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("private cluster did not reach cluster_state:ok");
    }

    pub fn urls(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILLs node `i`.
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().await.unwrap();
        }
    }

    /// Restarts node `i` on its port with its cluster config (its data is gone).
    pub async fn restart(&mut self, i: usize) {
        self.children[i] = Some(Self::spawn_node(&self.dir, self.ports[i]));
        Self::wait_port(self.ports[i]).await;
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster key slot of `key` (CRC16/XMODEM of the hash tag, mod 16384).
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) % 16384
}

/// The slot map of the cluster node at `url`: (first slot, last slot, master port).
pub async fn slot_map(url: &str) -> Vec<(u16, u16, u16)> {
    let v = raw(url, &["CLUSTER", "SLOTS"]).await;
    let mut out = Vec::new();
    if let redis::Value::Array(ranges) = v {
        for r in ranges {
            if let redis::Value::Array(parts) = r {
                let num = |v: &redis::Value| match v {
                    redis::Value::Int(i) => *i,
                    _ => panic!("unexpected CLUSTER SLOTS reply"),
                };
                let master = match &parts[2] {
                    redis::Value::Array(m) => num(&m[1]),
                    _ => panic!("unexpected CLUSTER SLOTS reply"),
                };
                out.push((
                    u16::try_from(num(&parts[0])).unwrap(),
                    u16::try_from(num(&parts[1])).unwrap(),
                    u16::try_from(master).unwrap(),
                ));
            }
        }
    }
    out
}

/// The master port serving `key`.
pub fn master_of(map: &[(u16, u16, u16)], key: &str) -> u16 {
    let s = slot(key);
    map.iter()
        .find(|(a, b, _)| (*a..=*b).contains(&s))
        .map(|m| m.2)
        .expect("every slot is assigned")
}
