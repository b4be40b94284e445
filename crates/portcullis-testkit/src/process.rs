//! A server process a test owns: started on a loopback port, waited for, killed by its pid
//! (also on drop), and restartable on the same port for outage tests.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound once and released; a race with another process
/// taking it is possible but harmless in tests: the start then fails loudly).
///
/// # Panics
/// If no port can be bound (test helper).
#[allow(clippy::expect_used)]
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child server listening on `127.0.0.1:<port>`.
#[derive(Debug)]
pub struct LoopbackServer {
    program: String,
    args: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl LoopbackServer {
    /// Starts `program args…` (the args must make it listen on `port`) and waits up to
    /// 15 s for the port to accept connections.
    ///
    /// # Panics
    /// If the program cannot start or never opens the port (test helper).
    pub fn start(program: &str, args: &[String], port: u16) -> Self {
        let mut server = Self {
            program: program.to_owned(),
            args: args.to_vec(),
            port,
            child: None,
        };
        server.spawn();
        server
    }

    #[allow(clippy::panic)]
    fn spawn(&mut self) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", self.program));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not open port {}",
                self.program,
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process (SIGKILL, by its pid) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it if running, then starts it again on the same port with the same args.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.kill();
    }
}
