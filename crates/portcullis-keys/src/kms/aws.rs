//! AWS KMS as a [`Kms`], on the official `aws-sdk-kms` (feature `aws-kms`).

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use portcullis_core::{BackendError, BackendErrorKind, KeyId};
use zeroize::Zeroizing;

use super::{DataKey, GeneratedKey, Kms, KmsContext, WrappedKey};
use crate::KeysError;

/// A [`Kms`] on AWS KMS: KEK names are KMS key ids (the UUID; [`KeyId`] does not admit
/// the `/` of ARNs and aliases); the
/// [`KmsContext`] is the AWS encryption context (its pairs as given, so CloudTrail shows
/// them and key policies can condition on them); wrapped keys are KMS ciphertext blobs.
/// Keys rotated at KMS (automatic or on-demand rotation) keep opening old wrapped keys.
///
/// Build the client as usual (for example from `aws-config`); [`AwsKms::https_client`]
/// gives an HTTPS client on rustls with ring for an SDK configuration without the SDK's
/// default client. Every `unwrap` names the expected key, so a ciphertext of another key
/// is refused by KMS (`IncorrectKeyException`) rather than opened.
///
/// Errors: `ThrottlingException` and `LimitExceededException` are
/// [`BackendErrorKind::Throttled`] (after the SDK's own retries); dispatch failures,
/// `KMSInternalException`, `DependencyTimeoutException` and 5xx
/// [`BackendErrorKind::Unavailable`]; SDK time-outs [`BackendErrorKind::Timeout`];
/// `InvalidCiphertextException` and `IncorrectKeyException` [`KeysError::Decrypt`];
/// `NotFoundException` [`KeysError::UnknownKek`]. No call returns a key on error.
pub struct AwsKms {
    client: aws_sdk_kms::Client,
}

impl fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKms").finish_non_exhaustive()
    }
}

/// Why an AWS KMS call failed: the AWS error code (for example `ThrottlingException`), or
/// the kind of SDK failure. Never the message (it may quote request data).
#[derive(Debug, thiserror::Error)]
#[error("aws kms: {code}")]
pub struct AwsKmsError {
    /// The AWS error code or SDK failure kind.
    pub code: String,
}

impl AwsKms {
    /// Uses `client` for every call.
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self { client }
    }

    /// An HTTPS client for the SDK configuration (`http_client(...)`): hyper on rustls
    /// with the ring provider and the platform's root certificates.
    pub fn https_client() -> aws_sdk_kms::config::SharedHttpClient {
        aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https()
    }

    /// The underlying SDK client (for administration such as key rotation).
    pub fn client(&self) -> &aws_sdk_kms::Client {
        &self.client
    }
}

fn context_map(context: &KmsContext) -> HashMap<String, String> {
    context
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn map_err<E: ProvideErrorMetadata>(
    op: &'static str,
    kek: &KeyId,
    e: &SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> KeysError {
    let backend = |kind, code: &str| {
        KeysError::Backend(BackendError::new(
            kind,
            op,
            AwsKmsError {
                code: code.to_owned(),
            },
        ))
    };
    match e {
        SdkError::TimeoutError(_) => backend(BackendErrorKind::Timeout, "timeout"),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            backend(BackendErrorKind::Timeout, "timeout")
        }
        SdkError::DispatchFailure(_) => backend(BackendErrorKind::Unavailable, "dispatch failure"),
        SdkError::ResponseError(_) => backend(BackendErrorKind::Corrupt, "unreadable response"),
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("unknown");
            match code {
                "NotFoundException" => KeysError::UnknownKek(kek.as_str().to_owned()),
                "InvalidCiphertextException" | "IncorrectKeyException" => KeysError::Decrypt,
                "ThrottlingException" | "LimitExceededException" => {
                    backend(BackendErrorKind::Throttled, code)
                }
                "KMSInternalException"
                | "DependencyTimeoutException"
                | "ServiceUnavailable"
                | "InternalFailure" => backend(BackendErrorKind::Unavailable, code),
                "KMSInvalidStateException"
                | "DisabledException"
                | "KeyUnavailableException"
                | "AccessDeniedException" => backend(BackendErrorKind::Other, code),
                other => {
                    if s.raw().status().is_server_error() {
                        backend(BackendErrorKind::Unavailable, other)
                    } else {
                        backend(BackendErrorKind::Other, other)
                    }
                }
            }
        }
        _ => backend(BackendErrorKind::Other, "sdk failure"),
    }
}

fn corrupt(op: &'static str, what: &str) -> KeysError {
    KeysError::Backend(BackendError::new(
        BackendErrorKind::Corrupt,
        op,
        AwsKmsError {
            code: what.to_owned(),
        },
    ))
}

fn key_from(op: &'static str, bytes: Option<&Blob>) -> Result<DataKey, KeysError> {
    let blob = bytes.ok_or_else(|| corrupt(op, "no 32-byte key in the response"))?;
    DataKey::from_slice(blob.as_ref()).map_err(|_| corrupt(op, "no 32-byte key in the response"))
}

fn wrapped_from(op: &'static str, bytes: Option<&Blob>) -> Result<WrappedKey, KeysError> {
    bytes
        .map(|b| WrappedKey::new(b.as_ref().to_vec()))
        .ok_or_else(|| corrupt(op, "no ciphertext in the response"))
}

#[async_trait]
impl Kms for AwsKms {
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        context: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        const OP: &str = "aws.kms.generate_data_key";
        let out = self
            .client
            .generate_data_key()
            .key_id(kek.as_str())
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| map_err(OP, kek, &e))?;
        let plaintext = key_from(OP, out.plaintext())?;
        let wrapped = wrapped_from(OP, out.ciphertext_blob())?;
        Ok(GeneratedKey { plaintext, wrapped })
    }

    async fn wrap(
        &self,
        kek: &KeyId,
        data_key: &DataKey,
        context: &KmsContext,
    ) -> Result<WrappedKey, KeysError> {
        const OP: &str = "aws.kms.encrypt";
        let plaintext = Zeroizing::new(data_key.expose_secret().to_vec());
        let out = self
            .client
            .encrypt()
            .key_id(kek.as_str())
            .plaintext(Blob::new(plaintext.to_vec()))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| map_err(OP, kek, &e))?;
        wrapped_from(OP, out.ciphertext_blob())
    }

    async fn unwrap(
        &self,
        kek: &KeyId,
        wrapped: &WrappedKey,
        context: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        const OP: &str = "aws.kms.decrypt";
        if wrapped.as_bytes().is_empty() {
            return Err(KeysError::Decrypt);
        }
        let out = self
            .client
            .decrypt()
            .key_id(kek.as_str())
            .ciphertext_blob(Blob::new(wrapped.as_bytes().to_vec()))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| map_err(OP, kek, &e))?;
        key_from(OP, out.plaintext()).map_err(|_| KeysError::Decrypt)
    }
}
