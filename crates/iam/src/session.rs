//! Temporary credentials (STS sessions) that need no storage: the session token carries the
//! session's claims, sealed with a key only wharf knows, and the secret access key is derived
//! from the claims with the same key.
//!
//! # Wire
//! ```text
//! session token  = "WHARF1" base64url(claims JSON) "." base64url(HMAC-SHA256(key, claims JSON))
//! access key id  = "ASIA" + 16 characters of [A-Z2-7]            (in the claims)
//! secret         = base64(HMAC-SHA256(key, "secret\n" claims JSON))[..40]
//! ```
//! So a session survives a restart, and every node sharing the key honours it; nothing is kept
//! per session. A token is refused when its seal does not verify (constant time), when its
//! access key id is not the request's, and after its expiration (`ExpiredToken`).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use wharf_types::EpochMillis;

type HmacSha256 = Hmac<Sha256>;

const TOKEN_PREFIX: &str = "WHARF1";

/// The largest session token accepted, in bytes (a session policy may be 2,048 characters,
/// tags add some more).
pub const MAX_TOKEN_BYTES: usize = 16_384;

/// What a session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The temporary access key id (`ASIA…`).
    pub access_key_id: String,
    /// The account the session acts in.
    pub account: String,
    /// When the credentials stop working, in epoch milliseconds.
    pub expires_ms: EpochMillis,
    /// Whose session it is.
    pub subject: SessionSubject,
    /// The session policy (AssumeRole's `Policy`), which can only narrow the role's permissions.
    #[serde(default)]
    pub policy: Option<String>,
    /// Session tags.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The function whose execution role this session is (the `lambda:SourceFunctionArn` key).
    #[serde(default)]
    pub source_function_arn: Option<String>,
}

/// Whose credentials a session holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionSubject {
    /// An assumed role.
    Role {
        /// The role's name.
        name: String,
        /// The role's path.
        path: String,
        /// The role's unique id (`AROA…`).
        id: String,
        /// `RoleSessionName`.
        session_name: String,
    },
    /// GetSessionToken of a user.
    User {
        /// The user's name.
        name: String,
    },
    /// GetSessionToken of an account's root.
    Root,
}

/// Why a session token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token wharf issued, or not for this access key.
    Invalid,
    /// Issued, but expired.
    Expired,
}

/// Seals and opens session tokens with one key.
#[derive(Clone)]
pub struct SessionSeal {
    key: [u8; 32],
}

impl std::fmt::Debug for SessionSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSeal(..)")
    }
}

impl SessionSeal {
    /// A seal keyed with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        SessionSeal { key }
    }

    fn mac(&self) -> HmacSha256 {
        // An HMAC accepts a key of any length.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// The token and secret access key of a new session.
    pub fn issue(&self, claims: &SessionClaims) -> (String, String) {
        let json = serde_json::to_string(claims).unwrap_or_default();
        let mut seal = self.mac();
        seal.update(json.as_bytes());
        let tag = seal.finalize().into_bytes();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!("{TOKEN_PREFIX}{}.{}", engine.encode(json.as_bytes()), engine.encode(tag));
        (token, self.secret_of(&json))
    }

    fn secret_of(&self, json: &str) -> String {
        let mut mac = self.mac();
        mac.update(b"secret\n");
        mac.update(json.as_bytes());
        let mut secret = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        secret.truncate(40);
        secret
    }

    /// The claims and secret of `token`, if wharf sealed it for `access_key_id` and it has not
    /// expired at `now`.
    pub fn open(
        &self,
        token: &str,
        access_key_id: &str,
        now: EpochMillis,
    ) -> Result<(SessionClaims, String), TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let body = token.strip_prefix(TOKEN_PREFIX).ok_or(TokenError::Invalid)?;
        let (claims, tag) = body.split_once('.').ok_or(TokenError::Invalid)?;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json = engine.decode(claims).map_err(|_| TokenError::Invalid)?;
        let tag = engine.decode(tag).map_err(|_| TokenError::Invalid)?;
        let mut seal = self.mac();
        seal.update(&json);
        seal.verify_slice(&tag).map_err(|_| TokenError::Invalid)?;
        let json = String::from_utf8(json).map_err(|_| TokenError::Invalid)?;
        let claims: SessionClaims = serde_json::from_str(&json).map_err(|_| TokenError::Invalid)?;
        if claims.access_key_id != access_key_id {
            return Err(TokenError::Invalid);
        }
        if now >= claims.expires_ms {
            return Err(TokenError::Expired);
        }
        let secret = self.secret_of(&json);
        Ok((claims, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            access_key_id: "ASIAEXAMPLE".into(),
            account: "111122223333".into(),
            expires_ms: 10_000,
            subject: SessionSubject::Role {
                name: "worker".into(),
                path: "/".into(),
                id: "AROAEXAMPLE".into(),
                session_name: "s".into(),
            },
            policy: None,
            tags: Vec::new(),
            source_function_arn: None,
        }
    }

    #[test]
    fn a_token_opens_for_its_key_until_it_expires() {
        let seal = SessionSeal::new([7; 32]);
        let (token, secret) = seal.issue(&claims());
        assert_eq!(secret.len(), 40);
        let (opened, opened_secret) = seal.open(&token, "ASIAEXAMPLE", 9_999).expect("opens");
        assert_eq!((opened, opened_secret), (claims(), secret));
        assert_eq!(seal.open(&token, "ASIAEXAMPLE", 10_000), Err(TokenError::Expired));
        assert_eq!(seal.open(&token, "ASIAOTHER", 0), Err(TokenError::Invalid));
        assert_eq!(SessionSeal::new([8; 32]).open(&token, "ASIAEXAMPLE", 0), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let seal = SessionSeal::new([7; 32]);
        let (token, _) = seal.issue(&claims());
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (body, tag) = token.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split_once('.')).expect("shape");
        let json = String::from_utf8(engine.decode(body).expect("b64")).expect("utf8");
        let forged = json.replace("111122223333", "999999999999");
        let forged = format!("{TOKEN_PREFIX}{}.{tag}", engine.encode(forged));
        assert_eq!(seal.open(&forged, "ASIAEXAMPLE", 0), Err(TokenError::Invalid));
        assert_eq!(seal.open("garbage", "ASIAEXAMPLE", 0), Err(TokenError::Invalid));
        assert_eq!(seal.open("WHARF1.", "ASIAEXAMPLE", 0), Err(TokenError::Invalid));
    }
}
