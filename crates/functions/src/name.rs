//! Function names as callers write them: a bare name, `name:qualifier`, or a full or partial ARN.
//!
//! # Wire
//! ```text
//! my-function
//! my-function:live                      (alias or version, or $LATEST)
//! 123456789012:function:my-function[:qualifier]
//! arn:aws:lambda:us-east-1:123456789012:function:my-function[:qualifier]
//! ```

use std::fmt;
use std::str::FromStr;

/// The longest function name.
pub const MAX_NAME_LEN: usize = 64;

/// A function name: 1–64 characters of letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionName(String);

impl FunctionName {
    /// The name string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a function name or reference is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid function name {0:?}")]
pub struct InvalidFunctionName(pub String);

impl FromStr for FunctionName {
    type Err = InvalidFunctionName;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = !text.is_empty()
            && text.len() <= MAX_NAME_LEN
            && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if valid {
            Ok(FunctionName(text.to_owned()))
        } else {
            Err(InvalidFunctionName(text.to_owned()))
        }
    }
}

/// A reference to a function as an API caller gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name.
    pub name: FunctionName,
    /// The qualifier written into the reference (`name:qualifier` or a qualified ARN).
    pub qualifier: Option<String>,
    /// The account written into an ARN, if any.
    pub account: Option<String>,
    /// The region written into an ARN, if any.
    pub region: Option<String>,
}

/// Whether a qualifier is well formed: `$LATEST`, a version number or an alias name.
pub fn valid_qualifier(text: &str) -> bool {
    text == "$LATEST"
        || (!text.is_empty()
            && text.len() <= 128
            && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'))
}

impl FromStr for FunctionRef {
    type Err = InvalidFunctionName;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidFunctionName(text.to_owned());
        if text.len() > 170 {
            return Err(invalid());
        }
        let parts: Vec<&str> = text.split(':').collect();
        let (account, region, name, qualifier) = match parts.as_slice() {
            [name] => (None, None, *name, None),
            [name, qualifier] => (None, None, *name, Some(*qualifier)),
            [account, "function", name] => (Some(*account), None, *name, None),
            [account, "function", name, qualifier] => (Some(*account), None, *name, Some(*qualifier)),
            ["arn", partition, "lambda", region, account, "function", name] if partition.starts_with("aws") => {
                (Some(*account), Some(*region), *name, None)
            }
            ["arn", partition, "lambda", region, account, "function", name, qualifier]
                if partition.starts_with("aws") =>
            {
                (Some(*account), Some(*region), *name, Some(*qualifier))
            }
            _ => return Err(invalid()),
        };
        if let Some(account) = account {
            if account.len() != 12 || !account.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid());
            }
        }
        if let Some(qualifier) = qualifier {
            if !valid_qualifier(qualifier) {
                return Err(invalid());
            }
        }
        Ok(FunctionRef {
            name: name.parse().map_err(|_| invalid())?,
            qualifier: qualifier.map(str::to_owned),
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name, qualifier, account, region.
    type Parts<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn check(text: &str, expect: Option<Parts<'_>>) {
        let parsed = text
            .parse::<FunctionRef>()
            .ok()
            .map(|reference| (reference.name.0, reference.qualifier, reference.account, reference.region));
        let expect = expect.map(|(name, qualifier, account, region)| {
            (name.to_owned(), qualifier.map(str::to_owned), account.map(str::to_owned), region.map(str::to_owned))
        });
        assert_eq!(parsed, expect, "{text}");
    }

    #[test]
    fn every_form_aws_accepts() {
        check("my-function", Some(("my-function", None, None, None)));
        check("my_function:live", Some(("my_function", Some("live"), None, None)));
        check("fn:$LATEST", Some(("fn", Some("$LATEST"), None, None)));
        check("fn:7", Some(("fn", Some("7"), None, None)));
        check("123456789012:function:fn", Some(("fn", None, Some("123456789012"), None)));
        check("123456789012:function:fn:live", Some(("fn", Some("live"), Some("123456789012"), None)));
        check(
            "arn:aws:lambda:us-west-2:123456789012:function:fn",
            Some(("fn", None, Some("123456789012"), Some("us-west-2"))),
        );
        check(
            "arn:aws:lambda:us-west-2:123456789012:function:fn:3",
            Some(("fn", Some("3"), Some("123456789012"), Some("us-west-2"))),
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        for text in [
            "",
            "a b",
            "fn:",
            "fn:$latest2!",
            "arn:aws:sqs:us-east-1:123456789012:function:fn",
            "12345:function:fn",
            "a:b:c",
            &"x".repeat(65),
            "arn:aws:lambda:us-east-1:123456789012:function:fn:live:extra",
        ] {
            check(text, None);
        }
    }
}
