//! Short-lived TURN credentials, the scheme coturn calls `use-auth-secret` (the "TURN REST API"):
//! the username is `<expiry in unix seconds>:<participant>`, the password is
//! `base64(HMAC-SHA1(secret, username))`. The relay hands them out in `welcome` and checks them
//! without storing anything, and an operator can put coturn with the same secret in its place.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use protocol::ParticipantId;
use rtc::crypto::{HashAlgorithm, HmacAlgorithm, RTCCryptoProvider};

/// Why a username does not authenticate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not `<expiry>:<name>`.
    #[error("the username is not <expiry>:<name>")]
    Malformed,
    /// Its expiry has passed.
    #[error("the credentials expired")]
    Expired,
    /// The crypto provider failed.
    #[error("crypto: {0}")]
    Crypto(String),
}

/// Issues and checks credentials with one secret.
#[derive(Clone)]
pub struct Credentials {
    secret: Vec<u8>,
    /// How long issued credentials stay valid, in seconds.
    ttl: u64,
    crypto: Arc<dyn RTCCryptoProvider>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials signed with `secret`, each valid for `ttl` seconds.
    pub fn new(secret: Vec<u8>, ttl: u64, crypto: Arc<dyn RTCCryptoProvider>) -> Self {
        Self { secret, ttl, crypto }
    }

    /// A username and password for `id`, valid from `unix_now` for the configured time.
    pub fn issue(
        &self,
        id: ParticipantId,
        unix_now: u64,
    ) -> Result<(String, String), CredentialError> {
        let username = format!("{}:p{}", unix_now.saturating_add(self.ttl), id.0);
        let password = self.password_of(&username)?;
        Ok((username, password))
    }

    /// The password that belongs to `username`, if it has not expired at `unix_now`.
    pub fn password_for(&self, username: &str, unix_now: u64) -> Result<String, CredentialError> {
        let (expiry, name) = username.split_once(':').ok_or(CredentialError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| CredentialError::Malformed)?;
        if name.is_empty() {
            return Err(CredentialError::Malformed);
        }
        if expiry <= unix_now {
            return Err(CredentialError::Expired);
        }
        self.password_of(username)
    }

    /// The long-term key of RFC 8489: MD5 of `username:realm:password`.
    pub fn key(
        &self,
        username: &str,
        realm: &str,
        password: &str,
    ) -> Result<Vec<u8>, CredentialError> {
        self.crypto
            .crypto()
            .hash(HashAlgorithm::Md5, format!("{username}:{realm}:{password}").as_bytes())
            .map_err(|e| CredentialError::Crypto(e.to_string()))
    }

    fn password_of(&self, username: &str) -> Result<String, CredentialError> {
        let mut tag = [0u8; 20];
        self.crypto
            .crypto()
            .new_hmac(HmacAlgorithm::Sha1, &self.secret)
            .and_then(|mut mac| mac.sign(&[username.as_bytes()], &mut tag))
            .map_err(|e| CredentialError::Crypto(e.to_string()))?;
        Ok(STANDARD.encode(tag))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn credentials(secret: &[u8]) -> Credentials {
        Credentials::new(secret.to_vec(), 3600, rtc::crypto::default_provider().unwrap())
    }

    #[test]
    fn issued_credentials_check_until_they_expire() {
        let c = credentials(b"secret");
        let (username, password) = c.issue(ParticipantId(7), 1_000).unwrap();
        assert_eq!(username, "4600:p7");
        assert_eq!(c.password_for(&username, 1_000).unwrap(), password);
        assert_eq!(c.password_for(&username, 4_599).unwrap(), password);
        assert_eq!(c.password_for(&username, 4_600), Err(CredentialError::Expired));
    }

    #[test]
    fn the_password_is_coturns_base64_hmac_sha1() {
        // coturn's use-auth-secret: base64(hmac-sha1(secret, username)); the value below is
        // `printf '%s' 4600:p7 | openssl dgst -sha1 -hmac secret -binary | base64`.
        let c = credentials(b"secret");
        assert_eq!(c.password_for("4600:p7", 0).unwrap(), "ALKJIZLcJdOJGyp0xaVjURGBE0k=");
    }

    #[test]
    fn another_secret_or_an_edited_username_gives_another_password() {
        let (username, password) = credentials(b"one").issue(ParticipantId(1), 0).unwrap();
        assert_ne!(credentials(b"two").password_for(&username, 0).unwrap(), password);
        let longer = username.replacen(':', "0:", 1);
        assert_ne!(credentials(b"one").password_for(&longer, 0).unwrap(), password);
    }

    #[test]
    fn malformed_usernames_are_refused() {
        let c = credentials(b"s");
        for bad in ["", "p1", "abc:p1", "99999:", ":p1", "-5:p1"] {
            assert_eq!(c.password_for(bad, 0), Err(CredentialError::Malformed), "{bad:?}");
        }
    }
}
