//! Paging tokens wharf mints for CloudWatch Logs. These are stable formats: versioned, and a
//! retired version is never reused.
//!
//! # Wire
//! ```text
//! GetLogEvents       f/v1/<timestamp>/<seq>   events strictly after
//!                    b/v1/<timestamp>/<seq>   events strictly before
//! FilterLogEvents    base64url("v1:<timestamp>:<seq>")        events strictly after
//! DescribeLogGroups  base64url("v1:g:<last group name>")
//! DescribeLogStreams base64url("v1:s:<offset>")
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use wharf_logs::{EventPosition, GetCursor};

/// Renders a GetLogEvents token.
pub fn get_token(cursor: GetCursor) -> String {
    match cursor {
        GetCursor::Forward(position) => format!("f/v1/{}/{}", position.timestamp, position.seq),
        GetCursor::Backward(position) => format!("b/v1/{}/{}", position.timestamp, position.seq),
    }
}

/// Reads a GetLogEvents token.
pub fn parse_get_token(token: &str) -> Option<GetCursor> {
    let mut parts = token.split('/');
    let (Some(direction), Some("v1"), Some(timestamp), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let position = EventPosition { timestamp: timestamp.parse().ok()?, seq: seq.parse().ok()? };
    match direction {
        "f" => Some(GetCursor::Forward(position)),
        "b" => Some(GetCursor::Backward(position)),
        _ => None,
    }
}

/// Renders a FilterLogEvents token.
pub fn filter_token(position: EventPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", position.timestamp, position.seq))
}

fn decode_text(token: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()
}

/// Reads a FilterLogEvents token.
pub fn parse_filter_token(token: &str) -> Option<EventPosition> {
    let text = decode_text(token)?;
    let mut parts = text.split(':');
    let (Some("v1"), Some(timestamp), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(EventPosition { timestamp: timestamp.parse().ok()?, seq: seq.parse().ok()? })
}

/// Renders a DescribeLogGroups token after `name`.
pub fn groups_token(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:g:{name}"))
}

/// Reads a DescribeLogGroups token.
pub fn parse_groups_token(token: &str) -> Option<String> {
    decode_text(token)?.strip_prefix("v1:g:").map(str::to_owned)
}

/// Renders a DescribeLogStreams token at `offset`.
pub fn streams_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:s:{offset}"))
}

/// Reads a DescribeLogStreams token.
pub fn parse_streams_token(token: &str) -> Option<usize> {
    decode_text(token)?.strip_prefix("v1:s:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let position = EventPosition { timestamp: 1_700_000_000_000, seq: 42 };
        for cursor in [GetCursor::Forward(position), GetCursor::Backward(position)] {
            assert_eq!(parse_get_token(&get_token(cursor)), Some(cursor));
        }
        assert_eq!(get_token(GetCursor::Forward(position)), "f/v1/1700000000000/42");
        assert_eq!(parse_filter_token(&filter_token(position)), Some(position));
        assert_eq!(parse_groups_token(&groups_token("/aws/lambda/f")).as_deref(), Some("/aws/lambda/f"));
        assert_eq!(parse_streams_token(&streams_token(50)), Some(50));
        for bad in ["", "f/", "x/v1/1/2", "f/v2/1/2", "f/v1/1/2/3", "f/v1/a/2"] {
            assert_eq!(parse_get_token(bad), None, "{bad}");
        }
        assert_eq!(parse_filter_token(&streams_token(1)), None);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(token in "\\PC{0,40}") {
            let _ = parse_get_token(&token);
            let _ = parse_filter_token(&token);
            let _ = parse_groups_token(&token);
            let _ = parse_streams_token(&token);
        }
    }
}
