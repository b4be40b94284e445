//! `Set-Cookie` values for access and refresh tokens.

use std::time::Duration;

use crate::error::TokenError;

/// Where the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// HTTPS: strict attributes.
    Production,
    /// Plain-HTTP local development: no `Secure`, relaxed `SameSite`.
    Development,
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameSite {
    /// `Strict`.
    Strict,
    /// `Lax`.
    Lax,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
        }
    }
}

/// Builds `Set-Cookie` header values.
///
/// | environment | `Secure` | `HttpOnly` | `SameSite` (access / refresh) | name prefix |
/// |-------------|----------|------------|-------------------------------|-------------|
/// | [`Environment::Production`] | yes | yes | `Lax` / `Strict` | `__Host-` when no `Domain` is set and the path is `/`, else `__Secure-` |
/// | [`Environment::Development`] | no (plain-HTTP localhost) | yes | `Lax` / `Lax` | none |
///
/// The refresh cookie is scoped to [`CookiePolicy::refresh_path`] (default
/// `/auth/refresh`) so browsers send it only to the refresh endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookiePolicy {
    env: Environment,
    domain: Option<String>,
    access_path: String,
    refresh_path: String,
}

fn valid_attr(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
}

fn check_path(path: &str) -> Result<(), TokenError> {
    if path.starts_with('/') && valid_attr(path) {
        Ok(())
    } else {
        Err(TokenError::InvalidConfig {
            reason: "cookie paths must start with `/` and contain no `;`, `,`, spaces or control characters"
                .to_owned(),
        })
    }
}

impl CookiePolicy {
    /// Defaults: no `Domain` (host-only), access cookie path `/`, refresh cookie path
    /// `/auth/refresh`.
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            domain: None,
            access_path: "/".to_owned(),
            refresh_path: "/auth/refresh".to_owned(),
        }
    }

    /// Sets the `Domain` attribute.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for characters that could split the header.
    pub fn with_domain(mut self, domain: &str) -> Result<Self, TokenError> {
        if !valid_attr(domain) {
            return Err(TokenError::InvalidConfig {
                reason: "cookie domain contains forbidden characters".to_owned(),
            });
        }
        self.domain = Some(domain.to_owned());
        Ok(self)
    }

    /// Sets the access and refresh cookie paths (each must start with `/`).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for a path that does not start with `/` or contains
    /// forbidden characters.
    pub fn with_paths(mut self, access: &str, refresh: &str) -> Result<Self, TokenError> {
        check_path(access)?;
        check_path(refresh)?;
        access.clone_into(&mut self.access_path);
        refresh.clone_into(&mut self.refresh_path);
        Ok(self)
    }

    /// The refresh cookie's path.
    pub fn refresh_path(&self) -> &str {
        &self.refresh_path
    }

    /// The cookie name for `base` in this environment (with `__Host-`/`__Secure-` prefixes
    /// in production).
    pub fn cookie_name(&self, base: &str, path: &str) -> String {
        match self.env {
            Environment::Development => base.to_owned(),
            Environment::Production if self.domain.is_none() && path == "/" => {
                format!("__Host-{base}")
            }
            Environment::Production => format!("__Secure-{base}"),
        }
    }

    /// The `Set-Cookie` value for an access token named `base` (for example `at`).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if the name or value contains characters not allowed
    /// in a cookie.
    pub fn access_cookie(
        &self,
        base: &str,
        token: &str,
        max_age: Duration,
    ) -> Result<String, TokenError> {
        let same_site = SameSite::Lax;
        self.build(base, token, &self.access_path, same_site, max_age)
    }

    /// The `Set-Cookie` value for a refresh token named `base` (for example `rt`).
    ///
    /// # Errors
    ///
    /// As [`CookiePolicy::access_cookie`].
    pub fn refresh_cookie(
        &self,
        base: &str,
        token: &str,
        max_age: Duration,
    ) -> Result<String, TokenError> {
        let same_site = match self.env {
            Environment::Production => SameSite::Strict,
            Environment::Development => SameSite::Lax,
        };
        self.build(base, token, &self.refresh_path, same_site, max_age)
    }

    /// A `Set-Cookie` value that deletes the cookie `base` at `path` (`Max-Age=0`).
    ///
    /// # Errors
    ///
    /// As [`CookiePolicy::access_cookie`], and for a `path` that
    /// [`CookiePolicy::with_paths`] would refuse.
    pub fn clear_cookie(&self, base: &str, path: &str) -> Result<String, TokenError> {
        self.build(base, "", path, SameSite::Lax, Duration::ZERO)
    }

    fn build(
        &self,
        base: &str,
        value: &str,
        path: &str,
        same_site: SameSite,
        max_age: Duration,
    ) -> Result<String, TokenError> {
        // RFC 6265 token characters for the name; cookie-octets for the value.
        let name_ok = !base.is_empty()
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        let value_ok = value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
        if !name_ok || !value_ok {
            return Err(TokenError::InvalidConfig {
                reason: "cookie name or value contains forbidden characters".to_owned(),
            });
        }
        // Every path reaches the header through here, so every one is checked here.
        check_path(path)?;
        let mut out = format!(
            "{}={value}; Path={path}; Max-Age={}",
            self.cookie_name(base, path),
            max_age.as_secs()
        );
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if self.env == Environment::Production {
            out.push_str("; Secure");
        }
        out.push_str("; HttpOnly; SameSite=");
        out.push_str(same_site.as_str());
        Ok(out)
    }
}
