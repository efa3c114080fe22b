//! AWS-shaped identifiers: unique ids (`AIDA…` users, `AGPA…` groups, `AROA…` roles, `ANPA…`
//! policies), access key ids (`AKIA…` long-term, `ASIA…` temporary) and secret access keys.
//!
//! IAM's ids are 21 characters: a four-letter prefix and 17 of `[A-Z2-7]`; access key ids 20
//! (the prefix and 16); secrets 40 characters of base64's alphabet.

use rand::Rng;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_text(alphabet: &[u8], length: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..length).map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())])).collect()
}

/// A unique id with `prefix` (`AIDA`, `AGPA`, `AROA`, `ANPA`).
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", random_text(ID_ALPHABET, 17))
}

/// A long-term access key id.
pub fn access_key_id() -> String {
    format!("AKIA{}", random_text(ID_ALPHABET, 16))
}

/// A temporary access key id.
pub fn session_key_id() -> String {
    format!("ASIA{}", random_text(ID_ALPHABET, 16))
}

/// A secret access key.
pub fn secret_access_key() -> String {
    random_text(SECRET_ALPHABET, 40)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_aws_shapes() {
        let user = super::unique_id("AIDA");
        assert_eq!(user.len(), 21);
        assert!(
            user.starts_with("AIDA")
                && user.bytes().all(|byte| byte.is_ascii_uppercase() || (b'2'..=b'7').contains(&byte))
        );
        assert_eq!(super::access_key_id().len(), 20);
        assert!(super::session_key_id().starts_with("ASIA"));
        assert_eq!(super::secret_access_key().len(), 40);
        assert_ne!(super::access_key_id(), super::access_key_id());
    }
}
