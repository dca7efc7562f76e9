//! Signed invitation links: with a link secret, a room exists only for people holding a link
//! the operator (or the town's LMS) made for it.
//!
//! A link carries a *grant*: the room, the role, when it expires and whether the room starts
//! with its lobby on. The grant travels as `v1.<payload>.<tag>`: `payload` is the grant as JSON in
//! base64url without padding, `tag` the HMAC-SHA256 of `v1.<payload>` under the link secret, in
//! base64url too. Any system that can compute an HMAC can make links (docs/protocol.md shows
//! how); JWT was not chosen because the relay needs one fixed algorithm and one claim set, and a
//! JWT library brings the algorithm negotiation that makes JWTs easy to get wrong.
//!
//! Key rotation: a relay accepts links signed with its current secret and, during a change, with
//! the previous one; it signs with the current one only.
//!
//! Pure: the caller says what time it is.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use protocol::Role;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The shortest operator key the relay accepts (the key an LMS holds to ask for links,
/// `POST /api/invite`): guessing one must be hopeless.
pub const MIN_OPERATOR_KEY: usize = 32;

/// Compares secrets without leaking where they differ through timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The version prefix of every token.
const VERSION: &str = "v1";
/// Tokens longer than this are refused before any work (a grant is well under 300 bytes).
pub const MAX_TOKEN_BYTES: usize = 1024;

/// What a link allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The room it opens.
    #[serde(rename = "r")]
    pub room: String,
    /// The role its holder gets.
    pub role: Role,
    /// Until when it is valid, in seconds since 1970 (UTC).
    #[serde(rename = "exp")]
    pub expires: u64,
    /// Whether the room starts with its lobby on (newcomers wait to be admitted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lobby: bool,
}

/// Why a token opens nothing. Every variant leads to the same answer for the person holding it
/// (the relay never says which part was wrong); the variants are for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No token, but the relay needs one.
    #[error("no invitation link")]
    Missing,
    /// Not a token of this format (or too long).
    #[error("not an invitation link")]
    Malformed,
    /// The signature does not match any accepted secret.
    #[error("the link's signature is wrong")]
    Forged,
    /// Past its expiry.
    #[error("the link expired")]
    Expired,
    /// Made for another room.
    #[error("the link is for another room")]
    OtherRoom,
}

/// The secrets links are checked with.
pub struct LinkKeys {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKeys").field("previous", &self.previous.is_some()).finish()
    }
}

impl LinkKeys {
    /// Keys from the current secret and, during a change, the previous one.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        Self {
            current: hmac::Key::new(hmac::HMAC_SHA256, current),
            previous: previous.map(|p| hmac::Key::new(hmac::HMAC_SHA256, p)),
        }
    }

    /// The token for `grant`, signed with the current secret.
    pub fn sign(&self, grant: &Grant) -> String {
        // A grant of strings, an enum and numbers always serializes.
        let json = serde_json::to_vec(grant).unwrap_or_default();
        let signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(json));
        let tag = hmac::sign(&self.current, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The grant in `token`, if it is signed with an accepted secret, not expired at `now`
    /// (seconds since 1970) and made for `room`.
    pub fn verify(&self, token: Option<&str>, room: &str, now: u64) -> Result<Grant, LinkError> {
        let token = token.ok_or(LinkError::Missing)?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(LinkError::Malformed);
        }
        let (signed, tag) = token.rsplit_once('.').ok_or(LinkError::Malformed)?;
        let (version, payload) = signed.split_once('.').ok_or(LinkError::Malformed)?;
        if version != VERSION {
            return Err(LinkError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Malformed)?;
        // Constant-time comparison inside `ring`.
        let genuine = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| hmac::verify(key, signed.as_bytes(), &tag).is_ok());
        if !genuine {
            return Err(LinkError::Forged);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LinkError::Malformed)?;
        let grant: Grant = serde_json::from_slice(&json).map_err(|_| LinkError::Malformed)?;
        if grant.expires <= now {
            return Err(LinkError::Expired);
        }
        if grant.room != room {
            return Err(LinkError::OtherRoom);
        }
        Ok(grant)
    }
}

/// Parses a validity like `30d`, `12h`, `90m` or `3600s` into seconds.
pub fn parse_validity(text: &str) -> Result<u64, String> {
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a validity like 30d, 12h or 90m"))?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{text:?} is not a validity like 30d, 12h or 90m")),
    };
    match number.checked_mul(seconds) {
        Some(0) | None => Err(format!("{text:?} is not a validity like 30d, 12h or 90m")),
        Some(total) => Ok(total),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn grant(room: &str, role: Role) -> Grant {
        Grant { room: room.into(), role, expires: NOW + 3600, lobby: false }
    }

    #[test]
    fn a_signed_link_opens_its_room_with_its_role() {
        let keys = LinkKeys::new(b"town secret", None);
        let token = keys.sign(&grant("klasse-7b", Role::Host));
        assert!(token.starts_with("v1."));
        assert_eq!(keys.verify(Some(&token), "klasse-7b", NOW), Ok(grant("klasse-7b", Role::Host)));
    }

    #[test]
    fn forged_expired_foreign_and_garbage_links_open_nothing() {
        let keys = LinkKeys::new(b"town secret", None);
        let other = LinkKeys::new(b"another town", None);
        let token = keys.sign(&grant("klasse-7b", Role::Participant));
        assert_eq!(keys.verify(None, "klasse-7b", NOW), Err(LinkError::Missing));
        assert_eq!(
            keys.verify(Some(&other.sign(&grant("klasse-7b", Role::Host))), "klasse-7b", NOW),
            Err(LinkError::Forged)
        );
        assert_eq!(keys.verify(Some(&token), "klasse-7b", NOW + 3600), Err(LinkError::Expired));
        assert_eq!(keys.verify(Some(&token), "klasse-7c", NOW), Err(LinkError::OtherRoom));
        // A participant's link edited to say host: the signature no longer matches.
        let (_, payload_and_tag) = token.split_once('.').unwrap();
        let (_, tag) = payload_and_tag.split_once('.').unwrap();
        let host = serde_json::to_vec(&grant("klasse-7b", Role::Host)).unwrap();
        let edited = format!("v1.{}.{tag}", URL_SAFE_NO_PAD.encode(host));
        assert_eq!(keys.verify(Some(&edited), "klasse-7b", NOW), Err(LinkError::Forged));
        for garbage in ["", "v1", "v1.", "v1..", "v2.e30.AAAA", "v1.e30.!!!", "x.y.z"] {
            assert!(keys.verify(Some(garbage), "klasse-7b", NOW).is_err(), "{garbage:?}");
        }
        assert_eq!(
            keys.verify(Some(&"a".repeat(5000)), "klasse-7b", NOW),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn during_a_key_change_links_of_both_secrets_work_and_new_ones_use_the_new() {
        let old = LinkKeys::new(b"old secret", None);
        let changing = LinkKeys::new(b"new secret", Some(b"old secret"));
        let after = LinkKeys::new(b"new secret", None);
        let old_link = old.sign(&grant("rat", Role::Participant));
        assert!(changing.verify(Some(&old_link), "rat", NOW).is_ok());
        let new_link = changing.sign(&grant("rat", Role::Participant));
        assert!(after.verify(Some(&new_link), "rat", NOW).is_ok());
        assert_eq!(after.verify(Some(&old_link), "rat", NOW), Err(LinkError::Forged));
    }

    #[test]
    fn the_lobby_flag_survives_and_is_left_out_when_off() {
        let keys = LinkKeys::new(b"k", None);
        let mut with_lobby = grant("rat", Role::Participant);
        with_lobby.lobby = true;
        let token = keys.sign(&with_lobby);
        assert!(keys.verify(Some(&token), "rat", NOW).unwrap().lobby);
        let json = serde_json::to_string(&grant("rat", Role::Listener)).unwrap();
        assert!(!json.contains("lobby"), "{json}");
    }

    #[test]
    fn validities_are_a_number_and_a_unit() {
        assert_eq!(parse_validity("30d"), Ok(30 * 86_400));
        assert_eq!(parse_validity("12h"), Ok(12 * 3_600));
        assert_eq!(parse_validity("90m"), Ok(5_400));
        assert_eq!(parse_validity("3600s"), Ok(3_600));
        for bad in ["", "d", "30", "0d", "-1d", "1w", "99999999999999999999d"] {
            assert!(parse_validity(bad).is_err(), "{bad:?}");
        }
    }
}
