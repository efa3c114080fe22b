//! Receipt handles: the opaque strings wharf mints on every receive.
//!
//! # Wire
//! ```text
//! base64url-nopad( version:u8=1 | queue_id:u64be | seq:u64be | token:u64be )
//! ```
//! This format is a contract with clients holding handles across a wharf upgrade: a new
//! format gets a new version byte, and version 1 stays readable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use wharf_store::{QueueId, Receipt};

const VERSION_1: u8 = 1;

/// Encodes a receipt of a queue's message as a handle.
pub fn encode(queue: QueueId, receipt: Receipt) -> String {
    let mut bytes = [0u8; 25];
    bytes[0] = VERSION_1;
    bytes[1..9].copy_from_slice(&queue.0.to_be_bytes());
    bytes[9..17].copy_from_slice(&receipt.seq.to_be_bytes());
    bytes[17..25].copy_from_slice(&receipt.token.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a handle; `None` if it is not one wharf minted.
pub fn decode(handle: &str) -> Option<(QueueId, Receipt)> {
    if handle.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(handle).ok()?;
    if bytes.len() != 25 || bytes[0] != VERSION_1 {
        return None;
    }
    let word = |range: std::ops::Range<usize>| u64::from_be_bytes(bytes[range].try_into().unwrap_or([0; 8]));
    Some((QueueId(word(1..9)), Receipt { seq: word(9..17), token: word(17..25) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let receipt = Receipt { seq: 42, token: 0xDEAD_BEEF_0000_0001 };
        let handle = encode(QueueId(7), receipt);
        assert_eq!(decode(&handle), Some((QueueId(7), receipt)));
        assert_eq!(decode("not-a-handle"), None);
        assert_eq!(decode(""), None);
    }

    proptest! {
        #[test]
        fn decode_never_panics(text in ".{0,80}") {
            let _ = decode(&text);
        }
    }
}
