//! Turning a URL and a [`RedisConfig`] into a client: the plaintext rule, TLS roots and
//! client certificates, cluster seeds. No error message contains the URL (it may carry a
//! password).

use std::net::IpAddr;

use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

use super::config::RedisConfig;
use crate::error::RedisError;

fn invalid(reason: &str) -> RedisError {
    RedisError::InvalidConfig {
        reason: reason.to_owned(),
    }
}

/// Parses one URL, never echoing it.
fn parse(url: &str) -> Result<ConnectionInfo, RedisError> {
    url.trim()
        .into_connection_info()
        .map_err(|_| invalid("redis url does not parse (or names a scheme this build does not support; rediss:// needs the `tls` feature)"))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Applies the transport rules to one parsed address: TLS must verify hostnames, plain
/// TCP only to loopback unless allowed, TLS options only with `rediss://`.
fn check(info: &ConnectionInfo, config: &RedisConfig) -> Result<bool, RedisError> {
    match info.addr() {
        ConnectionAddr::TcpTls { insecure, .. } => {
            if *insecure {
                return Err(invalid(
                    "rediss url disables hostname verification (#insecure); refused",
                ));
            }
            Ok(true)
        }
        ConnectionAddr::Tcp(host, _) => {
            if !is_loopback(host) && !config.plaintext_remote_allowed() {
                return Err(invalid(
                    "plain redis:// to a host that is not loopback; use rediss:// or RedisConfig::danger_allow_plaintext_remote",
                ));
            }
            if tls_configured(config) {
                return Err(invalid("TLS options given for a plain redis:// url"));
            }
            Ok(false)
        }
        ConnectionAddr::Unix(_) => {
            if tls_configured(config) {
                return Err(invalid("TLS options given for a unix socket url"));
            }
            Ok(false)
        }
        _ => Err(invalid("unsupported redis address kind")),
    }
}

#[cfg(feature = "tls")]
fn tls_configured(config: &RedisConfig) -> bool {
    config.tls_options().is_some()
}

#[cfg(not(feature = "tls"))]
fn tls_configured(_config: &RedisConfig) -> bool {
    false
}

/// rustls needs a process-wide crypto provider; install ring's unless the application
/// installed one already.
#[cfg(feature = "tls")]
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(feature = "tls")]
fn certificates(config: &RedisConfig) -> Option<redis::TlsCertificates> {
    let tls = config.tls_options()?;
    Some(redis::TlsCertificates {
        client_tls: match (&tls.client_cert_pem, &tls.client_key_pem) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.expose_secret().to_vec(),
            }),
            _ => None,
        },
        root_cert: tls.root_ca_pem.clone(),
    })
}

pub(super) fn standalone_client(
    url: &str,
    config: &RedisConfig,
) -> Result<redis::Client, RedisError> {
    let info = parse(url)?;
    let uses_tls = check(&info, config)?;
    #[cfg(feature = "tls")]
    if uses_tls {
        ensure_crypto_provider();
        if let Some(certs) = certificates(config) {
            return redis::Client::build_with_tls(info, certs)
                .map_err(|_| invalid("TLS certificates or key do not parse"));
        }
    }
    let _ = uses_tls;
    redis::Client::open(info).map_err(|_| invalid("redis url is not usable"))
}

pub(super) fn cluster_client(url: &str, config: &RedisConfig) -> Result<ClusterClient, RedisError> {
    let mut seeds = Vec::new();
    let mut tls = None;
    for part in url.split(',').filter(|p| !p.trim().is_empty()) {
        let info = parse(part)?;
        let uses_tls = check(&info, config)?;
        if *tls.get_or_insert(uses_tls) != uses_tls {
            return Err(invalid("cluster seed urls mix redis:// and rediss://"));
        }
        seeds.push(info);
    }
    if seeds.is_empty() {
        return Err(invalid("no cluster seed url given"));
    }
    let mut builder = ClusterClientBuilder::new(seeds)
        .connection_timeout(config.client_connect_timeout())
        .response_timeout(config.command_timeout_value())
        .retries(u32::try_from(config.reconnect_retries_value()).unwrap_or(u32::MAX));
    #[cfg(feature = "tls")]
    if tls == Some(true) {
        ensure_crypto_provider();
        builder = builder.tls(redis::TlsMode::Secure);
        if let Some(certs) = certificates(config) {
            builder = builder.certs(certs);
        }
    }
    builder
        .build()
        .map_err(|_| invalid("cluster seed urls are not usable (all seeds must share credentials)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "redis.internal",
            "0.0.0.0",
            "::",
            "localhost.evil",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plaintext_remote_is_refused_unless_allowed() {
        let remote = "redis://:hunter2@10.1.2.3:6379";
        let err = standalone_client(remote, &RedisConfig::new()).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("not loopback"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("10.1.2.3"),
            "{text}"
        );
        assert!(
            standalone_client(remote, &RedisConfig::new().danger_allow_plaintext_remote()).is_ok()
        );
        assert!(standalone_client("redis://127.0.0.1:6379", &RedisConfig::new()).is_ok());
        let err = cluster_client(
            "redis://127.0.0.1:7000,redis://10.0.0.9:7001",
            &RedisConfig::new().cluster(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not loopback"));
    }

    #[test]
    fn unix_sockets_are_local() {
        assert!(standalone_client("redis+unix:///run/redis.sock", &RedisConfig::new()).is_ok());
        #[cfg(feature = "tls")]
        assert!(
            standalone_client(
                "redis+unix:///run/redis.sock",
                &RedisConfig::new().tls(super::super::config::TlsOptions::new())
            )
            .is_err(),
            "TLS options make no sense on a unix socket"
        );
    }

    #[test]
    fn url_errors_never_echo_the_url() {
        for url in [
            "redis://:s3cr3t-pw@[::1",
            "rediss://user:s3cr3t-pw@host:notaport",
            "nonsense://s3cr3t-pw",
            "redis://127.0.0.1:6379/?password=s3cr3t-pw&db=x",
        ] {
            if let Err(e) = standalone_client(url, &RedisConfig::new()) {
                let text = format!("{e} {e:?}");
                assert!(!text.contains("s3cr3t-pw"), "{text}");
            }
        }
    }

    #[cfg(feature = "tls")]
    #[test]
    fn insecure_tls_and_misplaced_tls_options_are_refused() {
        let err = standalone_client("rediss://127.0.0.1:6380/#insecure", &RedisConfig::new())
            .unwrap_err();
        assert!(err.to_string().contains("hostname verification"), "{err}");
        let err = standalone_client(
            "redis://127.0.0.1:6379",
            &RedisConfig::new().tls(super::super::config::TlsOptions::new()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("TLS options"), "{err}");
        let err = cluster_client(
            "redis://127.0.0.1:7000,rediss://127.0.0.1:7001",
            &RedisConfig::new().cluster(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("mix"), "{err}");
    }
}
