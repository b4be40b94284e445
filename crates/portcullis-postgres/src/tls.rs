//! Transport security: `sslmode` and certificates from the URL or [`PgTls`], rustls
//! with the ring provider, and the rule that plain TCP goes only to loopback.
//!
//! | URL `sslmode` | what the pool does |
//! |---|---|
//! | `verify-full`, `verify-ca`, `require` | TLS required; the server's chain **and** host name are always verified (rustls has no unverified mode, so `require` and `verify-ca` are as strict as `verify-full`) |
//! | `prefer`, `allow`, absent | plain TCP, only to loopback hosts or Unix sockets |
//! | `disable` | plain TCP, only to loopback hosts or Unix sockets |
//!
//! Plain TCP to any other host is refused unless [`PgTls::danger_allow_plaintext_remote`].
//! Roots: `sslrootcert=<file>` in the URL, or [`PgTls::root_ca_pem`], else the system's
//! (`sslrootcert=system` says so explicitly). A client certificate: `sslcert=<file>` and
//! `sslkey=<file>`, or [`PgTls::client_cert_pem`]. These URL parameters are read here
//! and removed before the driver parses the URL (it does not know them); they are read
//! only from the `postgres://` URL form.

use std::fmt;
use std::net::IpAddr;

use portcullis_core::SecretBytes;
use tokio_postgres::config::{Host, SslMode};

use crate::error::PostgresError;

/// TLS settings of a [`PgPool`](crate::PgPool) (feature `tls`, on by default, for the
/// certificates; the plaintext rule holds in every build).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PgTls {
    root_ca_pem: Option<Vec<u8>>,
    client_cert_pem: Option<Vec<u8>>,
    client_key_pem: Option<SecretBytes>,
    plaintext_remote: bool,
}

impl fmt::Debug for PgTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTls")
            .field("root_ca", &self.root_ca_pem.as_ref().map(|_| "custom"))
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("plaintext_remote", &self.plaintext_remote)
            .finish()
    }
}

impl PgTls {
    /// System roots, no client certificate, plain TCP only to loopback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust only the CA certificate(s) in `pem` (instead of the system roots or a URL's
    /// `sslrootcert`).
    #[must_use]
    pub fn root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem = Some(pem.into());
        self
    }

    /// Present a client certificate chain (PEM) and its private key (PEM, zeroized).
    #[must_use]
    pub fn client_cert_pem(mut self, chain: impl Into<Vec<u8>>, key: SecretBytes) -> Self {
        self.client_cert_pem = Some(chain.into());
        self.client_key_pem = Some(key);
        self
    }

    /// Allows plain TCP (no `sslmode=require`) to hosts that are not loopback. Audit rows,
    /// sealed credentials and the login's password would then cross the network in the
    /// clear; use only on a network you trust end to end.
    #[must_use]
    pub fn danger_allow_plaintext_remote(mut self) -> Self {
        self.plaintext_remote = true;
        self
    }
}

fn invalid(reason: &'static str) -> PostgresError {
    PostgresError::Transport { reason }
}

/// What the URL asked for, once our parameters are taken out.
struct UrlTls {
    /// The URL without `sslrootcert`, `sslcert`, `sslkey`, with `sslmode` mapped onto the
    /// driver's `require` / `disable`.
    url: String,
    root_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn split_url(url: &str) -> Result<UrlTls, PostgresError> {
    let mut out = UrlTls {
        url: url.to_owned(),
        root_file: None,
        cert_file: None,
        key_file: None,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok(out);
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || percent_decode(v).ok_or(PostgresError::InvalidDatabaseUrl);
        match k {
            "sslrootcert" => out.root_file = Some(value()?),
            "sslcert" => out.cert_file = Some(value()?),
            "sslkey" => out.key_file = Some(value()?),
            "sslmode" => match value()?.as_str() {
                "verify-full" | "verify-ca" | "require" => kept.push("sslmode=require".to_owned()),
                "prefer" | "allow" | "disable" => kept.push("sslmode=disable".to_owned()),
                // An unknown mode is a URL that does not parse (fixed message, no echo).
                _ => return Err(PostgresError::InvalidDatabaseUrl),
            },
            _ => kept.push(pair.to_owned()),
        }
    }
    out.url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(out)
}

fn is_loopback(host: &Host) -> bool {
    match host {
        Host::Tcp(name) => {
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            bare.eq_ignore_ascii_case("localhost")
                || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    }
}

/// The parsed configuration and, if TLS is required, the connector to use.
pub(crate) struct Prepared {
    pub(crate) config: tokio_postgres::Config,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

pub(crate) fn prepare(url: &str, tls: &PgTls) -> Result<Prepared, PostgresError> {
    let parts = split_url(url)?;
    // The parser's error is dropped, not kept as a source: it can quote any part of the
    // URL (an option name, a value), and the URL may hold a password anywhere.
    let config: tokio_postgres::Config = parts
        .url
        .parse()
        .map_err(|_| PostgresError::InvalidDatabaseUrl)?;
    let required = config.get_ssl_mode() == SslMode::Require;
    let local = config.get_hosts().iter().all(is_loopback)
        && config.get_hostaddrs().iter().all(IpAddr::is_loopback);
    if !required && !local && !tls.plaintext_remote {
        return Err(invalid(
            "plain TCP to a host that is not loopback; use sslmode=verify-full or PgTls::danger_allow_plaintext_remote",
        ));
    }
    if !required
        && (parts.root_file.is_some()
            || parts.cert_file.is_some()
            || tls.root_ca_pem.is_some()
            || tls.client_cert_pem.is_some())
    {
        return Err(invalid(
            "certificates given but sslmode does not require TLS",
        ));
    }
    if !required {
        return Ok(Prepared {
            config,
            #[cfg(feature = "tls")]
            tls: None,
        });
    }
    #[cfg(feature = "tls")]
    {
        let connector = connector(&parts, tls)?;
        Ok(Prepared {
            config,
            tls: Some(connector),
        })
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = parts;
        Err(invalid(
            "sslmode requires TLS, which this build lacks (feature `tls`)",
        ))
    }
}

#[cfg(feature = "tls")]
fn read(path: &str, what: &'static str) -> Result<Vec<u8>, PostgresError> {
    std::fs::read(path).map_err(|_| invalid(what))
}

#[cfg(feature = "tls")]
fn connector(
    parts: &UrlTls,
    tls: &PgTls,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PostgresError> {
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let mut roots = rustls::RootCertStore::empty();
    let custom = match (&tls.root_ca_pem, parts.root_file.as_deref()) {
        (Some(pem), _) => Some(pem.clone()),
        (None, Some("system")) | (None, None) => None,
        (None, Some(path)) => Some(read(path, "sslrootcert file cannot be read")?),
    };
    match custom {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|_| invalid("root CA PEM does not parse"))?;
                roots
                    .add(cert)
                    .map_err(|_| invalid("root CA certificate is not usable"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(invalid("no root certificate to verify the server with"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| invalid("no TLS protocol version available"))?
        .with_root_certificates(roots);
    let (chain, key) = match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(c), Some(k)) => (Some(c.clone()), Some(k.clone())),
        _ => match (&parts.cert_file, &parts.key_file) {
            (Some(c), Some(k)) => (
                Some(read(c, "sslcert file cannot be read")?),
                Some(SecretBytes::new(read(k, "sslkey file cannot be read")?)),
            ),
            (None, None) => (None, None),
            _ => return Err(invalid("sslcert and sslkey go together")),
        },
    };
    let config = match (chain, key) {
        (Some(chain), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&chain)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid("client certificate PEM does not parse"))?;
            if chain.is_empty() {
                return Err(invalid("client certificate PEM holds no certificate"));
            }
            let key = PrivateKeyDer::from_pem_slice(key.expose_secret())
                .map_err(|_| invalid("client key PEM does not parse"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|_| invalid("client certificate and key do not match"))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_are_taken_out_of_the_url() {
        let p = split_url(
            "postgres://u:pw@db.example:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            p.url,
            "postgres://u:pw@db.example:5432/app?sslmode=require&application_name=x"
        );
        assert_eq!(p.root_file.as_deref(), Some("/etc/ca.pem"));
        let p = split_url("postgres://h/db?sslmode=prefer").unwrap();
        assert_eq!(p.url, "postgres://h/db?sslmode=disable");
        assert!(split_url("postgres://h/db?sslmode=bogus").is_err());
    }

    #[test]
    fn plaintext_goes_only_to_loopback() {
        let tls = PgTls::new();
        for ok in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgres://postgres@[::1]:5432/test?sslmode=disable",
            "host=/var/run/postgresql user=postgres",
        ] {
            assert!(prepare(ok, &tls).is_ok(), "{ok}");
        }
        for remote in [
            "postgres://u:hunter2@10.0.0.5/db",
            "postgres://u:hunter2@db.example/db?sslmode=prefer",
            "host=db.example user=u password=hunter2",
        ] {
            let e = prepare(remote, &tls).err().unwrap();
            let text = format!("{e} {e:?}");
            assert!(text.contains("not loopback"), "{text}");
            assert!(
                !text.contains("hunter2") && !text.contains("db.example"),
                "{text}"
            );
            assert!(prepare(remote, &PgTls::new().danger_allow_plaintext_remote()).is_ok());
        }
    }

    #[test]
    fn certificates_without_tls_are_refused() {
        let e = prepare(
            "postgres://127.0.0.1/db?sslrootcert=%2Ftmp%2Fx",
            &PgTls::new(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("does not require TLS"), "{e}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_required_builds_a_connector_or_says_why() {
        let e = prepare(
            "postgres://u:hunter2@127.0.0.1/db?sslmode=verify-full&sslrootcert=%2Fnonexistent%2Fca.pem",
            &PgTls::new(),
        )
        .err()
        .unwrap();
        let text = format!("{e} {e:?}");
        assert!(text.contains("sslrootcert"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("nonexistent"),
            "{text}"
        );
        let e = prepare(
            "postgres://127.0.0.1/db?sslmode=require",
            &PgTls::new().root_ca_pem(b"not pem".to_vec()),
        )
        .err();
        assert!(e.is_some(), "garbage CA refused");
    }

    /// A self-signed CA certificate made once with openssl for these unit tests (public
    /// material; its key was discarded).
    const UNIT_CA: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBmzCCAUGgAwIBAgIUV/7ItKG5h5BHhoPJta8rQF5ERa0wCgYIKoZIzj0EAwIw\n\
IjEgMB4GA1UEAwwXUG9ydGN1bGxpcyB1bml0LXRlc3QgQ0EwIBcNMjYxMjAyMTgw\n\
OTI4WhgPMjEyNjExMDgxODA5MjhaMCIxIDAeBgNVBAMMF1BvcnRjdWxsaXMgdW5p\n\
dC10ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESalu5HsTO4SSIKTU\n\
3CSG4aaFRd3c6LFOPblPFDv0i6ne6mwofrOsMnrzeiGWie6xQ90PiIkWPAeY8MAN\n\
YGd3RqNTMFEwHQYDVR0OBBYEFDzD4pMsUI64HVuSUdhIvEbPoXEeMB8GA1UdIwQY\n\
MBaAFDzD4pMsUI64HVuSUdhIvEbPoXEeMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI\n\
zj0EAwIDSAAwRQIhAIdvqFc1tnTpqVxjDKYWQ4l+sQ1Rx7+FTkLTgvErvTPQAiB2\n\
fec2ZpIaNtZLhRe7FYWiHl3DV5+CAcIDKUpcr5PdXQ==\n\
-----END CERTIFICATE-----\n";

    #[test]
    fn client_certificate_parameters_are_read_and_checked() {
        let p =
            split_url("postgres://h/db?sslmode=require&sslcert=%2Fc.pem&sslkey=%2Fk.pem").unwrap();
        assert_eq!(p.cert_file.as_deref(), Some("/c.pem"));
        assert_eq!(p.key_file.as_deref(), Some("/k.pem"));
        assert_eq!(p.url, "postgres://h/db?sslmode=require");
        let tls = PgTls::new().root_ca_pem(UNIT_CA.as_bytes().to_vec());
        let base = "postgres://127.0.0.1/db?sslmode=require";
        assert!(
            prepare(base, &tls).is_ok(),
            "a CA and no client certificate is fine"
        );
        let reason = |url: &str, tls: &PgTls| match prepare(url, tls) {
            Err(PostgresError::Transport { reason }) => reason,
            Err(other) => panic!("{other:?}"),
            Ok(_) => "ok",
        };
        assert_eq!(
            reason(
                &format!("{base}&sslcert=%2Fnone%2Fc.pem&sslkey=%2Fnone%2Fk.pem"),
                &tls
            ),
            "sslcert file cannot be read"
        );
        assert_eq!(
            reason(&format!("{base}&sslcert=%2Fnone%2Fc.pem"), &tls),
            "sslcert and sslkey go together"
        );
        let garbage = tls
            .clone()
            .client_cert_pem(b"junk".to_vec(), SecretBytes::from_slice(b"junk"));
        assert_eq!(
            reason(base, &garbage),
            "client certificate PEM holds no certificate"
        );
    }

    #[test]
    fn each_certificate_source_alone_requires_tls() {
        let plain = "postgres://127.0.0.1/db";
        let key = SecretBytes::from_slice(b"k");
        for (what, url, tls) in [
            (
                "sslcert",
                format!("{plain}?sslcert=%2Fc&sslkey=%2Fk"),
                PgTls::new(),
            ),
            (
                "root pem",
                plain.to_owned(),
                PgTls::new().root_ca_pem(UNIT_CA.as_bytes().to_vec()),
            ),
            (
                "client pem",
                plain.to_owned(),
                PgTls::new().client_cert_pem(b"c".to_vec(), key.clone()),
            ),
        ] {
            assert!(
                matches!(prepare(&url, &tls), Err(PostgresError::Transport { .. })),
                "{what}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_client_key() {
        let tls =
            PgTls::new().client_cert_pem(b"CERT".to_vec(), SecretBytes::from_slice(b"KEYBYTES"));
        let text = format!("{tls:?}");
        assert!(
            text.contains("client_cert: true") && text.contains("<redacted>"),
            "{text}"
        );
        assert!(!text.contains("KEYBYTES"), "{text}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%2Fa%20b").as_deref(), Some("/a b"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
    }
}
