//! Breach checks: only the 5-digit SHA-1 prefix leaves, padded answers are handled, the
//! offline list and the range API client (against a loopback server speaking the API)
//! answer the same, and every failure refuses the new password.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // helpers outside #[test] fns

use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::{BackendError, BackendErrorKind};
use portcullis_passwords::{
    BreachFileError, BreachRange, HashPrefix, HibpRange, OfflineBreachList, PasswordPolicy,
    RangeEntry, Refusal, UserContext, breach_count,
};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PW: &str = "quartz lantern mosaic drift";

fn sha1_hex(s: &str) -> String {
    hex::encode_upper(Sha1::digest(s.as_bytes()))
}

#[derive(Debug, Default)]
struct Recording {
    prefixes: Mutex<Vec<String>>,
    answer: Vec<RangeEntry>,
}

#[async_trait]
impl BreachRange for Recording {
    async fn range(&self, prefix: &HashPrefix) -> Result<Vec<RangeEntry>, BackendError> {
        self.prefixes
            .lock()
            .unwrap()
            .push(prefix.as_str().to_owned());
        Ok(self.answer.clone())
    }
}

#[derive(Debug)]
struct Down;

#[async_trait]
impl BreachRange for Down {
    async fn range(&self, _: &HashPrefix) -> Result<Vec<RangeEntry>, BackendError> {
        Err(BackendError::unavailable(
            "range",
            std::io::Error::other("down"),
        ))
    }
}

fn entry(suffix: &str, count: u64) -> RangeEntry {
    RangeEntry::parse_line(&format!("{suffix}:{count}")).unwrap()
}

#[test]
fn only_the_prefix_is_sent_and_the_suffix_is_matched_among_decoys() {
    let full = sha1_hex(PW);
    let mut answer: Vec<RangeEntry> = (0..50).map(|i| entry(&format!("{:035X}", i), 0)).collect();
    answer.push(entry(&full[5..].to_lowercase(), 7));
    answer.push(entry(&format!("{:035X}", 99), 12));
    let source = Recording {
        answer,
        ..Default::default()
    };
    let n = futures::executor::block_on(breach_count(&source, PW)).unwrap();
    assert_eq!(n, 7);
    assert_eq!(*source.prefixes.lock().unwrap(), vec![full[..5].to_owned()]);
    assert_eq!(
        futures::executor::block_on(breach_count(&source, "something else")).unwrap(),
        0
    );
}

#[test]
fn the_offline_list_reads_the_downloader_format() {
    let text = format!(
        "# comment\n\n{}:3\r\n{}\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10\n5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8:5\n",
        sha1_hex(PW),
        sha1_hex("velvet orbit").to_lowercase()
    );
    let list = OfflineBreachList::from_reader(Cursor::new(text)).unwrap();
    assert_eq!(list.len(), 3, "duplicates merge");
    assert!(!list.is_empty());
    assert_eq!(format!("{list:?}"), "OfflineBreachList { hashes: 3 }");
    assert!(
        OfflineBreachList::from_reader(Cursor::new("# nothing\n"))
            .unwrap()
            .is_empty()
    );
    let count = |pw| futures::executor::block_on(breach_count(&list, pw)).unwrap();
    assert_eq!(count(PW), 3);
    assert_eq!(
        count("velvet orbit"),
        1,
        "a hash without a count counts once"
    );
    assert_eq!(
        count("password"),
        15,
        "SHA-1(password) = 5BAA61…, counts summed"
    );
    assert_eq!(count("not in the list at all"), 0);
    for bad in [
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD\n",
        "zzzz61E4C9B93F3F0682250B6CF8331B7EE68FD8\n",
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:many\n",
    ] {
        let text = format!("{}\n{bad}", sha1_hex(PW));
        match OfflineBreachList::from_reader(Cursor::new(text)) {
            Err(e @ BreachFileError::Line { line: 2 }) => assert!(!e.to_string().contains("5BAA")),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn the_policy_refuses_breached_passwords_and_fails_closed() {
    let policy = PasswordPolicy::new();
    let list = OfflineBreachList::from_reader(Cursor::new(sha1_hex(PW))).unwrap();
    let user = UserContext::default();
    let check = |source: &dyn BreachRange, pw| {
        futures::executor::block_on(policy.check_with_breaches(pw, &user, source))
    };
    assert_eq!(check(&list, PW), Err(Refusal::Breached { times: 1 }));
    assert!(check(&list, "velvet orbit canyon thistle").is_ok());
    assert_eq!(
        check(&Down, "velvet orbit canyon thistle"),
        Err(Refusal::BreachCheckUnavailable)
    );
    // Length and strength come first: a short password never reaches the source.
    let rec = Recording::default();
    assert!(matches!(
        check(&rec, "short"),
        Err(Refusal::TooShort { .. })
    ));
    assert!(rec.prefixes.lock().unwrap().is_empty());
}

/// A loopback server speaking the range API: records request heads, answers `respond`.
async fn server(
    respond: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (url::Url, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (seen, respond) = (seen2.clone(), respond.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    let k = sock.read(&mut buf[n..]).await.unwrap();
                    if k == 0 {
                        return;
                    }
                    n += k;
                }
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                seen.lock().unwrap().push(head.clone());
                let response = respond(&head);
                sock.write_all(response.as_bytes()).await.unwrap();
                let _ = sock.shutdown().await;
            });
        }
    });
    (url::Url::parse(&format!("http://{addr}/")).unwrap(), seen)
}

fn http(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn the_range_client_sends_the_prefix_with_padding_and_parses_the_answer() {
    let full = sha1_hex(PW);
    let suffix = full[5..].to_owned();
    let (base, seen) = server(move |_| {
        let mut body = String::new();
        for i in 0..800 {
            body.push_str(&format!("{:035X}:0\r\n", i));
        }
        body.push_str(&format!("{suffix}:42\r\n{:035X}:3", 5000));
        http("200 OK", &body)
    })
    .await;
    let client = HibpRange::danger_http_loopback(base, Duration::from_secs(5)).unwrap();
    assert_eq!(breach_count(&client, PW).await.unwrap(), 42);
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    for head in &heads {
        assert!(
            head.starts_with(&format!("GET /range/{} HTTP/1.1\r\n", &full[..5])),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("\r\nadd-padding: true\r\n"),
            "{head}"
        );
        assert!(!head.contains(&full[5..]), "the suffix never leaves");
    }
}

#[tokio::test]
async fn range_api_failures_are_typed_and_refuse_the_password() {
    for (response, kind) in [
        (
            http("429 Too Many Requests", ""),
            BackendErrorKind::Throttled,
        ),
        (
            http("503 Service Unavailable", ""),
            BackendErrorKind::Unavailable,
        ),
        (http("302 Found", ""), BackendErrorKind::Unavailable),
        (
            http("200 OK", "not a range answer"),
            BackendErrorKind::Corrupt,
        ),
        (
            http("200 OK", &format!("{}:x", "A".repeat(35))),
            BackendErrorKind::Corrupt,
        ),
    ] {
        let (base, _) = server(move |_| response.clone()).await;
        let client = HibpRange::danger_http_loopback(base, Duration::from_secs(5)).unwrap();
        let err = breach_count(&client, PW).await.unwrap_err();
        assert_eq!(err.kind(), kind);
        let policy = PasswordPolicy::new();
        assert_eq!(
            policy
                .check_with_breaches(PW, &UserContext::default(), &client)
                .await,
            Err(Refusal::BreachCheckUnavailable)
        );
    }
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HibpRange::danger_http_loopback(
        url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(
        breach_count(&client, PW).await.unwrap_err().kind(),
        BackendErrorKind::Unavailable
    );
}

#[test]
fn plain_http_is_only_for_loopback_and_mirrors_need_https() {
    for base in [
        "http://example.com/",
        "https://127.0.0.1/",
        "http://10.0.0.1/",
    ] {
        assert!(
            HibpRange::danger_http_loopback(url::Url::parse(base).unwrap(), Duration::from_secs(1))
                .is_err(),
            "{base}"
        );
    }
    assert!(
        HibpRange::with_base(
            url::Url::parse("http://mirror.example/").unwrap(),
            rustls::RootCertStore::empty(),
            Duration::from_secs(1)
        )
        .is_err()
    );
}
