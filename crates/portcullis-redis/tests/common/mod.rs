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
