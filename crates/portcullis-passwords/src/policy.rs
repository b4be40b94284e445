//! The policy for new passwords: length bounds, NFKC, strength by zxcvbn with the user's
//! own context penalised, and the breach check.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::ConfigError;
use crate::breach::{BreachRange, breach_count};
use crate::hasher::MAX_PASSWORD_BYTES;

/// Strength is judged on the first this many characters: zxcvbn's matching grows
/// quickly with length, and a password that long and still guessable in its first 256
/// characters is not saved by the rest.
pub const STRENGTH_CHARS: usize = 256;

/// Why a new password is refused: each variant is a reason a UI can show as it is
/// (`Display`) or map to its own message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Fewer characters than the minimum (counted after NFKC, in Unicode scalar values).
    #[error("use at least {min} characters (this has {actual})")]
    TooShort {
        /// The minimum.
        min: usize,
        /// The password's length.
        actual: usize,
    },
    /// More than the maximum length in UTF-8 bytes.
    #[error("use at most {max} bytes")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// zxcvbn scores it below the minimum (0 to 4).
    #[error("this password is too easy to guess{}", warning.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    TooWeak {
        /// zxcvbn's score.
        score: u8,
        /// The minimum score.
        min: u8,
        /// zxcvbn's warning, if it has one.
        warning: Option<String>,
        /// zxcvbn's suggestions.
        suggestions: Vec<String>,
    },
    /// The password is in a breach corpus.
    #[error("this password has appeared in a data breach ({times} times); choose another")]
    Breached {
        /// How often the corpus has seen it.
        times: u64,
    },
    /// The breach check could not answer; the password is refused (fail closed).
    #[error("the password could not be checked against known breaches; try again later")]
    BreachCheckUnavailable,
}

/// Who the password is for: zxcvbn treats each value (and the parts of the e-mail
/// address) as a dictionary word, so `alice2024!` scores low for user `alice`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserContext<'a> {
    /// The user name or login.
    pub user_name: Option<&'a str>,
    /// The e-mail address.
    pub email: Option<&'a str>,
    /// Anything else (real name, company).
    pub other: &'a [&'a str],
}

/// The verdict for an accepted password.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Strength {
    /// zxcvbn's score, 0 (guessable) to 4.
    pub score: u8,
    /// zxcvbn's estimate of log10(guesses).
    pub guesses_log10: f64,
}

/// Length bounds and minimum strength for new passwords.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    min_score: u8,
    service: Vec<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            min_score: 3,
            service: Vec::new(),
        }
    }
}

impl PasswordPolicy {
    /// At least 8 characters, zxcvbn score 3 or more, at most 1024 bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The minimum length in characters (1 to 64).
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`].
    pub fn with_min_length(mut self, chars: usize) -> Result<Self, ConfigError> {
        if !(1..=64).contains(&chars) {
            return Err(ConfigError::OutOfRange {
                what: "minimum password length",
                reason: "1 to 64 characters",
            });
        }
        self.min_chars = chars;
        Ok(self)
    }

    /// The minimum zxcvbn score (0 to 4).
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`].
    pub fn with_min_score(mut self, score: u8) -> Result<Self, ConfigError> {
        if score > 4 {
            return Err(ConfigError::OutOfRange {
                what: "minimum zxcvbn score",
                reason: "0 to 4",
            });
        }
        self.min_score = score;
        Ok(self)
    }

    /// Words of the service itself (its name, its domain) that a password should not
    /// lean on.
    pub fn with_service_words(mut self, words: &[&str]) -> Self {
        self.service = words.iter().map(|w| (*w).to_owned()).collect();
        self
    }

    /// The minimum length in characters.
    pub fn min_length(&self) -> usize {
        self.min_chars
    }

    /// Length and strength, without the breach check.
    ///
    /// # Errors
    /// The first [`Refusal`] that applies: length, then strength.
    pub fn check(&self, password: &str, user: &UserContext<'_>) -> Result<Strength, Refusal> {
        let too_long = Refusal::TooLong {
            max: MAX_PASSWORD_BYTES,
        };
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(too_long);
        }
        let normalized: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
        if normalized.len() > MAX_PASSWORD_BYTES {
            return Err(too_long);
        }
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            return Err(Refusal::TooShort {
                min: self.min_chars,
                actual: chars,
            });
        }
        let judged: Zeroizing<String> =
            Zeroizing::new(normalized.chars().take(STRENGTH_CHARS).collect());
        let inputs = self.inputs(user);
        let words: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(&judged, &words);
        let score = u8::from(entropy.score());
        if score < self.min_score {
            let feedback = entropy.feedback();
            return Err(Refusal::TooWeak {
                score,
                min: self.min_score,
                warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
                suggestions: feedback
                    .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(Strength {
            score,
            guesses_log10: entropy.guesses_log10(),
        })
    }

    /// [`PasswordPolicy::check`], then the breach check against `breaches`. A breach
    /// source that cannot answer refuses the password
    /// ([`Refusal::BreachCheckUnavailable`]): a new password is never accepted unchecked.
    ///
    /// # Errors
    /// The first [`Refusal`] that applies.
    pub async fn check_with_breaches(
        &self,
        password: &str,
        user: &UserContext<'_>,
        breaches: &dyn BreachRange,
    ) -> Result<Strength, Refusal> {
        let strength = self.check(password, user)?;
        match breach_count(breaches, password).await {
            Ok(0) => Ok(strength),
            Ok(times) => Err(Refusal::Breached { times }),
            Err(_) => Err(Refusal::BreachCheckUnavailable),
        }
    }

    /// The user-context words zxcvbn penalises: user name, e-mail, its local part and
    /// domain labels, the caller's other words, the service's words; lowercased.
    fn inputs(&self, user: &UserContext<'_>) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        let mut push = |w: &str| {
            let w = w.trim().to_lowercase();
            if w.chars().count() >= 3 && !words.contains(&w) {
                words.push(w);
            }
        };
        if let Some(name) = user.user_name {
            push(name);
        }
        if let Some(email) = user.email {
            push(email);
            if let Some((local, domain)) = email.rsplit_once('@') {
                push(local);
                for part in local.split(['.', '_', '-', '+']) {
                    push(part);
                }
                for label in domain.split('.') {
                    push(label);
                }
            }
        }
        for w in user.other {
            push(w);
        }
        for w in &self.service {
            push(w);
        }
        words
    }
}
