//! Receipt handles: the opaque strings wharf mints on every receive.
//!
//! # Wire
//! ```text
//! version 1: base64url-nopad( 1:u8 | queue_id:u64be | seq:u64be | token:u64be )
//! version 2: base64url-nopad( 2:u8 | queue_id:u64be | seq:u64be | token:u64be | received_ms:u64be )
//! ```
//! Version 2 adds the receive's instant, for the 12-hour limit on visibility changes. Both
//! stay readable: handles are a contract with clients that hold them across an upgrade.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use wharf_store::{QueueId, Receipt};
use wharf_types::EpochMillis;

const VERSION_1: u8 = 1;
const VERSION_2: u8 = 2;

/// What a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    /// The queue.
    pub queue: QueueId,
    /// The message and receive.
    pub receipt: Receipt,
    /// When the receive happened (absent in version-1 handles).
    pub received_ms: Option<EpochMillis>,
}

/// Encodes a receipt of a queue's message, received at `received_ms`, as a handle.
pub fn encode(queue: QueueId, receipt: Receipt, received_ms: EpochMillis) -> String {
    let mut bytes = [0u8; 33];
    bytes[0] = VERSION_2;
    bytes[1..9].copy_from_slice(&queue.0.to_be_bytes());
    bytes[9..17].copy_from_slice(&receipt.seq.to_be_bytes());
    bytes[17..25].copy_from_slice(&receipt.token.to_be_bytes());
    bytes[25..33].copy_from_slice(&received_ms.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a handle; `None` if it is not one wharf minted.
pub fn decode(handle: &str) -> Option<Handle> {
    if handle.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(handle).ok()?;
    let word = |range: std::ops::Range<usize>| u64::from_be_bytes(bytes[range].try_into().unwrap_or([0; 8]));
    let received_ms = match (bytes.first(), bytes.len()) {
        (Some(&VERSION_1), 25) => None,
        (Some(&VERSION_2), 33) => Some(word(25..33)),
        _ => return None,
    };
    Some(Handle { queue: QueueId(word(1..9)), receipt: Receipt { seq: word(9..17), token: word(17..25) }, received_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let receipt = Receipt { seq: 42, token: 0xDEAD_BEEF_0000_0001 };
        let handle = encode(QueueId(7), receipt, 1_700_000_000_000);
        assert_eq!(decode(&handle), Some(Handle { queue: QueueId(7), receipt, received_ms: Some(1_700_000_000_000) }));
        assert_eq!(decode("not-a-handle"), None);
        assert_eq!(decode(""), None);
    }

    #[test]
    fn version_1_handles_stay_readable() {
        let mut bytes = vec![VERSION_1];
        bytes.extend(7u64.to_be_bytes());
        bytes.extend(42u64.to_be_bytes());
        bytes.extend(9u64.to_be_bytes());
        let handle = URL_SAFE_NO_PAD.encode(bytes);
        let decoded = decode(&handle).expect("version 1");
        assert_eq!(decoded.receipt, Receipt { seq: 42, token: 9 });
        assert_eq!(decoded.received_ms, None);
    }

    proptest! {
        #[test]
        fn decode_never_panics(text in ".{0,80}") {
            let _ = decode(&text);
        }
    }
}
