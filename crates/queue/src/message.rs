//! Validation of what a sender supplies: body, message attributes, system attributes, delay.
//!
//! See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
//! and <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>.

use crate::digest;
use crate::QueueError;
use wharf_store::{AttributeValue, Attributes, MessageAttribute};

/// At most this many message attributes.
pub const MAX_ATTRIBUTES: usize = 10;

/// An attribute as a client sent it, before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributeInput {
    /// The attribute's name.
    pub name: String,
    /// `String`, `Number`, `Binary`, optionally with a `.custom` suffix.
    pub data_type: Option<String>,
    /// The value of a string or number attribute.
    pub string_value: Option<String>,
    /// The value of a binary attribute (already base64-decoded).
    pub binary_value: Option<Vec<u8>>,
}

/// Whether `character` may appear in a body or string attribute.
pub fn allowed_char(character: char) -> bool {
    matches!(character, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks the body's character set.
pub fn check_body(body: &str) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::MissingParameter("MessageBody".into()));
    }
    if let Some(bad) = body.chars().find(|&character| !allowed_char(character)) {
        return Err(QueueError::InvalidMessageContents(format!(
            "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is \
             #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            bad as u32
        )));
    }
    Ok(())
}

fn check_attribute_name(name: &str, kind: &str) -> Result<(), QueueError> {
    let lower = name.to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 256
        && name.chars().all(|character| character.is_alphanumeric() || matches!(character, '_' | '-' | '.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if valid {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Message ({kind}) attribute name '{name}' is invalid. Names can contain alphanumeric characters, \
             hyphens, underscores and periods, may not start or end with a period, may not have consecutive \
             periods, and may not start with 'AWS.' or 'Amazon.'"
        )))
    }
}

/// Checks a decimal number as SQS accepts it: up to 38 significant digits, magnitude between
/// 10^-128 and 10^126.
fn is_sqs_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(idx) => (&unsigned[..idx], Some(&unsigned[idx + 1..])),
        None => (unsigned, None),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (mantissa, ""),
    };
    if integer.is_empty() && fraction.is_empty() {
        return false;
    }
    if !integer.bytes().chain(fraction.bytes()).all(|byte| byte.is_ascii_digit()) {
        return false;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(text) => {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return false;
            }
            match text.parse() {
                Ok(value) => value,
                Err(_) => return false,
            }
        }
    };
    let all_digits: String = integer.chars().chain(fraction.chars()).collect();
    let significant = all_digits.trim_start_matches('0');
    if significant.is_empty() {
        return true;
    }
    let significant_trimmed = significant.trim_end_matches('0');
    if significant_trimmed.len() > 38 {
        return false;
    }
    // Position of the leading significant digit as a power of ten.
    let leading_zeros = all_digits.len() - significant.len();
    let magnitude = integer.len() as i64 - 1 - leading_zeros as i64 + exponent;
    (-128..=126).contains(&magnitude)
}

/// Validates user attributes and returns them sorted with their digest; `None` when empty.
pub fn build_attributes(inputs: Vec<AttributeInput>, kind: &str) -> Result<Option<Box<Attributes>>, QueueError> {
    if inputs.is_empty() {
        return Ok(None);
    }
    if inputs.len() > MAX_ATTRIBUTES {
        return Err(QueueError::InvalidParameterValue(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            inputs.len()
        )));
    }
    let mut entries = Vec::with_capacity(inputs.len());
    for input in inputs {
        check_attribute_name(&input.name, kind)?;
        let name = input.name;
        let data_type = match input.data_type {
            Some(data_type) if !data_type.is_empty() => data_type,
            _ => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "The message ({kind}) attribute '{name}' must contain a non-empty message attribute type."
                )))
            }
        };
        if data_type.len() > 256 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Message ({kind}) attribute '{name}' type must be at most 256 characters."
            )));
        }
        let base = data_type.split('.').next().unwrap_or("");
        let value = match base {
            "String" | "Number" => {
                let text = match input.string_value {
                    Some(text) if !text.is_empty() => text,
                    _ => {
                        return Err(QueueError::InvalidParameterValue(format!(
                            "Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
                        )))
                    }
                };
                if base == "Number" && !is_sqs_number(&text) {
                    return Err(QueueError::InvalidParameterValue(format!(
                        "Can't cast the value of message ({kind}) attribute '{name}' to a number."
                    )));
                }
                // Bodies with such characters are InvalidMessageContents; attribute values are
                // InvalidParameterValue, as SQS answers.
                if let Some(bad) = text.chars().find(|&character| !allowed_char(character)) {
                    return Err(QueueError::InvalidParameterValue(format!(
                        "Invalid binary character '#x{:X}' was found in the message attribute '{name}'",
                        bad as u32
                    )));
                }
                AttributeValue::String(text)
            }
            "Binary" => match input.binary_value {
                Some(bytes) if !bytes.is_empty() => AttributeValue::Binary(bytes),
                _ => {
                    return Err(QueueError::InvalidParameterValue(format!(
                        "Message ({kind}) attribute '{name}' must contain a non-empty value of type 'Binary'."
                    )))
                }
            },
            _ => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "The type of message ({kind}) attribute '{name}' is invalid. You must use only the following \
                     supported type prefixes: Binary, Number, String."
                )))
            }
        };
        entries.push(MessageAttribute { name, data_type, value });
    }
    entries.sort_by(|left, right| left.name.cmp(&right.name));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(QueueError::InvalidParameterValue(format!(
            "Message ({kind}) attribute name '{}' is repeated.",
            pair[0].name
        )));
    }
    let md5 = digest::attributes_md5(&entries);
    Ok(Some(Box::new(Attributes { entries, md5 })))
}

/// The bytes an attribute set counts toward the message size limit.
pub fn attributes_size(attributes: Option<&Attributes>) -> usize {
    attributes.map_or(0, Attributes::payload_size)
}

/// Validates the system attributes of a send: only `AWSTraceHeader`, a string.
pub fn build_system_attributes(inputs: Vec<AttributeInput>) -> Result<Option<Box<Attributes>>, QueueError> {
    for input in &inputs {
        if input.name != "AWSTraceHeader" {
            return Err(QueueError::InvalidParameterValue(format!(
                "Message system attribute name '{}' is invalid.",
                input.name
            )));
        }
        if input.data_type.as_deref() != Some("String") {
            return Err(QueueError::InvalidParameterValue(
                "Message system attribute 'AWSTraceHeader' must be of type 'String'.".into(),
            ));
        }
    }
    build_attributes(inputs, "system")
}

/// Checks a delay in seconds.
pub fn check_delay(delay: i64) -> Result<u32, QueueError> {
    if (0..=900).contains(&delay) {
        Ok(delay as u32)
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn body_character_set_follows_the_api_reference() {
        assert!(check_body("tab\tnew\nline\r ok ü 🎉").is_ok());
        let err = check_body("bell\u{7}").unwrap_err();
        assert!(err.to_string().starts_with("Invalid binary character '#x7'"), "{err}");
        assert!(check_body("\u{FFFE}").is_err());
        assert_eq!(check_body("").unwrap_err(), QueueError::MissingParameter("MessageBody".into()));
    }

    #[test]
    fn numbers_follow_the_documented_limits() {
        for good in [
            "0",
            "-1",
            "+1.5",
            "1e10",
            "0.000001",
            ".5",
            "5.",
            "12345678901234567890123456789012345678",
            "1e126",
            "1e-128",
        ] {
            assert!(is_sqs_number(good), "{good}");
        }
        for bad in
            ["", "abc", "1..2", "1e", "123456789012345678901234567890123456789", "1e127", "1e-129", "--1", "1e1.5"]
        {
            assert!(!is_sqs_number(bad), "{bad}");
        }
    }

    #[test]
    fn attribute_rules() {
        let good = AttributeInput {
            name: "a.b-c_d".into(),
            data_type: Some("Number.float".into()),
            string_value: Some("1.5".into()),
            binary_value: None,
        };
        let built = build_attributes(vec![good.clone()], "user").expect("valid").expect("present");
        assert_eq!(built.entries[0].data_type, "Number.float");
        for name in ["", ".a", "a.", "a..b", "AWS.x", "amazon.y", "a b"] {
            let input = AttributeInput { name: name.into(), ..good.clone() };
            assert!(build_attributes(vec![input], "user").is_err(), "{name}");
        }
        let no_type = AttributeInput { data_type: None, ..good.clone() };
        assert!(build_attributes(vec![no_type], "user").is_err());
        let bad_type = AttributeInput { data_type: Some("Text".into()), ..good.clone() };
        assert!(build_attributes(vec![bad_type], "user").is_err());
        let empty_binary =
            AttributeInput { data_type: Some("Binary".into()), binary_value: Some(vec![]), ..good.clone() };
        assert!(build_attributes(vec![empty_binary], "user").is_err());
        let eleven: Vec<AttributeInput> =
            (0..11).map(|idx| AttributeInput { name: format!("a{idx}"), ..good.clone() }).collect();
        assert!(build_attributes(eleven, "user").is_err());
        assert!(build_attributes(vec![good.clone(), good], "user").is_err(), "repeated names");
    }

    proptest! {
        #[test]
        fn validation_never_panics(name in ".{0,20}", data_type in proptest::option::of(".{0,12}"), value in proptest::option::of(".{0,40}")) {
            let input = AttributeInput { name, data_type, string_value: value, binary_value: None };
            let _ = build_attributes(vec![input], "user");
        }

        #[test]
        fn number_check_never_panics(text in "[-+0-9eE.]{0,50}") {
            let _ = is_sqs_number(&text);
        }
    }
}
