//! Receipt handles: the opaque strings wharf mints on every receive.
//!
//! A handle is authenticated: it carries an HMAC-SHA256 tag (truncated to 128 bits) over
//! everything it names, keyed with a secret of the data directory ([`ReceiptKey`]). A handle
//! wharf did not mint — a guessed queue id and sequence number, an edited receive instant —
//! fails the constant-time check and is `ReceiptHandleIsInvalid`, so nobody can delete or hide
//! a message they did not receive.
//!
//! # Wire
//! ```text
//! version 3: base64url-nopad( 3:u8 | queue_id:u64be | seq:u64be | token:u64be | received_ms:u64be
//!                             | tag:[u8; 16] )
//! tag = HMAC-SHA256(key, the 33 bytes before it)[..16]
//! ```
//! Versions 1 (no receive instant) and 2 (no tag) are retired and refused: a version-1 handle
//! escaped the 12-hour limit on visibility changes, and neither could be told from a forgery.
//! Handles live at most 12 hours, so refusing them after an upgrade costs at most one
//! redelivery per message in flight. Do not reuse the numbers 1 and 2.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Mac as _, SimpleHmac};
use sha2::Sha256;
use wharf_store::{QueueId, Receipt};
use wharf_types::EpochMillis;

/// The version byte of the handles minted now.
const VERSION_3: u8 = 3;
/// Bytes covered by the tag.
const SIGNED_LEN: usize = 33;
/// Bytes of the truncated tag.
const TAG_LEN: usize = 16;
/// Characters of an encoded handle.
const ENCODED_LEN: usize = (SIGNED_LEN + TAG_LEN) * 4 / 3 + 1;

/// What a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    /// The queue.
    pub queue: QueueId,
    /// The message and receive.
    pub receipt: Receipt,
    /// When the receive happened.
    pub received_ms: EpochMillis,
}

/// The secret that authenticates receipt handles: 32 bytes, one per data directory (so handles
/// stay valid across restarts), zeroed on drop and never printed.
#[derive(Clone)]
pub struct ReceiptKey([u8; 32]);

impl ReceiptKey {
    /// A key from stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ReceiptKey {
        ReceiptKey(bytes)
    }

    /// A fresh random key.
    pub fn random() -> ReceiptKey {
        ReceiptKey(rand::random())
    }

    /// The key's bytes, to store it.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn tag(&self, signed: &[u8]) -> SimpleHmac<Sha256> {
        // A 32-byte key is always accepted by HMAC.
        let mut mac = <SimpleHmac<Sha256> as hmac::Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(signed);
        mac
    }

    /// Encodes a receipt of a queue's message, received at `received_ms`, as a handle.
    pub fn encode(&self, queue: QueueId, receipt: Receipt, received_ms: EpochMillis) -> String {
        let mut bytes = [0u8; SIGNED_LEN + TAG_LEN];
        bytes[0] = VERSION_3;
        bytes[1..9].copy_from_slice(&queue.0.to_be_bytes());
        bytes[9..17].copy_from_slice(&receipt.seq.to_be_bytes());
        bytes[17..25].copy_from_slice(&receipt.token.to_be_bytes());
        bytes[25..33].copy_from_slice(&received_ms.to_be_bytes());
        let tag = self.tag(&bytes[..SIGNED_LEN]).finalize().into_bytes();
        bytes[SIGNED_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a handle; `None` unless it is one this key minted.
    pub fn decode(&self, handle: &str) -> Option<Handle> {
        if handle.len() != ENCODED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(handle).ok()?;
        if bytes.len() != SIGNED_LEN + TAG_LEN || bytes[0] != VERSION_3 {
            return None;
        }
        // Constant time: a forger learns nothing from how long the check took.
        self.tag(&bytes[..SIGNED_LEN]).verify_truncated_left(&bytes[SIGNED_LEN..]).ok()?;
        let word = |range: std::ops::Range<usize>| u64::from_be_bytes(bytes[range].try_into().unwrap_or([0; 8]));
        Some(Handle {
            queue: QueueId(word(1..9)),
            receipt: Receipt { seq: word(9..17), token: word(17..25) },
            received_ms: word(25..33),
        })
    }
}

impl Drop for ReceiptKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptKey(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unsigned(version: u8, words: &[u64]) -> String {
        let mut bytes = vec![version];
        for word in words {
            bytes.extend(word.to_be_bytes());
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn round_trips() {
        let key = ReceiptKey::random();
        let receipt = Receipt { seq: 42, token: 0xDEAD_BEEF_0000_0001 };
        let handle = key.encode(QueueId(7), receipt, 1_700_000_000_000);
        assert_eq!(key.decode(&handle), Some(Handle { queue: QueueId(7), receipt, received_ms: 1_700_000_000_000 }));
        assert_eq!(key.decode("not-a-handle"), None);
        assert_eq!(key.decode(""), None);
    }

    #[test]
    fn forged_edited_and_foreign_handles_are_refused() {
        let key = ReceiptKey::random();
        let handle = key.encode(QueueId(7), Receipt { seq: 42, token: 9 }, 1_000);
        // Another data directory's key.
        assert_eq!(ReceiptKey::random().decode(&handle), None);
        // Any single changed bit.
        let bytes = URL_SAFE_NO_PAD.decode(&handle).expect("base64");
        for bit in 0..bytes.len() * 8 {
            let mut edited = bytes.clone();
            edited[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(key.decode(&URL_SAFE_NO_PAD.encode(&edited)), None, "bit {bit}");
        }
        // The retired unsigned formats, as an attacker would build them.
        assert_eq!(key.decode(&unsigned(1, &[7, 42, 9])), None);
        assert_eq!(key.decode(&unsigned(2, &[7, 42, 9, 1_000])), None);
    }

    #[test]
    fn debug_does_not_print_the_key() {
        assert_eq!(format!("{:?}", ReceiptKey::from_bytes([7; 32])), "ReceiptKey(redacted)");
    }

    proptest! {
        #[test]
        fn decode_never_panics(text in ".{0,80}") {
            let _ = ReceiptKey::from_bytes([1; 32]).decode(&text);
        }
    }
}
