//! The MD5 digests SQS returns, computed exactly as SQS does.
//!
//! # Wire
//! For attributes, one MD5 over the attributes sorted by name, each encoded as:
//! ```text
//! u32be(len(name)) name  u32be(len(type)) type  transport  u32be(len(value)) value
//! ```
//! where `type` is the full data type (`Number.float`), `transport` is 1 for string values and
//! 2 for binary values, and `value` is the UTF-8 string or the raw bytes.
//! See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>.

use md5::{Digest, Md5};
use wharf_store::{AttributeValue, MessageAttribute};

/// MD5 of a body.
pub fn body_md5(body: &str) -> [u8; 16] {
    Md5::digest(body.as_bytes()).into()
}

/// MD5 of attributes, which must be sorted by name.
pub fn attributes_md5<'a>(attributes: impl IntoIterator<Item = &'a MessageAttribute>) -> [u8; 16] {
    let mut hasher = Md5::new();
    for attribute in attributes {
        update_with_length(&mut hasher, attribute.name.as_bytes());
        update_with_length(&mut hasher, attribute.data_type.as_bytes());
        match &attribute.value {
            AttributeValue::String(text) => {
                hasher.update([1u8]);
                update_with_length(&mut hasher, text.as_bytes());
            }
            AttributeValue::Binary(bytes) => {
                hasher.update([2u8]);
                update_with_length(&mut hasher, bytes);
            }
        }
    }
    hasher.finalize().into()
}

fn update_with_length(hasher: &mut Md5, bytes: &[u8]) {
    hasher.update((bytes.len() as u32).to_be_bytes());
    hasher.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(name: &str, data_type: &str, value: &str) -> MessageAttribute {
        MessageAttribute { name: name.into(), data_type: data_type.into(), value: AttributeValue::String(value.into()) }
    }

    #[test]
    fn body_digest_is_hex_md5_of_utf8() {
        assert_eq!(hex::encode(body_md5("")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex::encode(body_md5("메시지 내용")), hex::encode(Md5::digest("메시지 내용".as_bytes())));
    }

    /// Vector published with the npm package aws-md5-of-message-attributes and reproduced by
    /// the SDKs that verify digests.
    #[test]
    fn single_string_attribute_matches_published_vector() {
        let attributes = [string("attribName1", "String", "attribValue 1")];
        assert_eq!(hex::encode(attributes_md5(&attributes)), "19e27d4e946b072f3f58da80d94fd778");
    }

    #[test]
    fn binary_values_use_transport_two() {
        let binary = MessageAttribute {
            name: "b".into(),
            data_type: "Binary".into(),
            value: AttributeValue::Binary(vec![1, 2, 3]),
        };
        let mut expected = Md5::new();
        expected.update([0, 0, 0, 1]);
        expected.update(b"b");
        expected.update([0, 0, 0, 6]);
        expected.update(b"Binary");
        expected.update([2]);
        expected.update([0, 0, 0, 3]);
        expected.update([1, 2, 3]);
        let expected: [u8; 16] = expected.finalize().into();
        assert_eq!(attributes_md5(&[binary]), expected);
    }
}
