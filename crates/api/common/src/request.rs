//! The request as protocols see it, and what any AWS request carries.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use std::net::SocketAddr;

/// A complete HTTP request: head and body, already read.
#[derive(Debug)]
pub struct ApiRequest {
    /// GET, POST, ...
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// All headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The client's address.
    pub peer: Option<SocketAddr>,
}

/// The `Authorization` header's credential scope of a SigV4-signed request.
///
/// # Wire
/// ```text
/// Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request, SignedHeaders=..., Signature=...
/// ```
/// Presigned query strings carry the same scope in `X-Amz-Credential`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id.
    pub access_key: String,
    /// The region the request was signed for.
    pub region: String,
    /// The service name the request was signed for.
    pub service: String,
}

/// The `Authorization` header name.
pub const AUTHORIZATION: &str = "authorization";
/// The JSON protocols' operation header.
pub const X_AMZ_TARGET: &str = "x-amz-target";

impl CredentialScope {
    /// Parses `AKID/DATE/REGION/SERVICE/aws4_request`.
    pub fn parse(credential: &str) -> Option<Self> {
        let mut parts = credential.split('/');
        let access_key = parts.next()?;
        let _date = parts.next()?;
        let region = parts.next()?;
        let service = parts.next()?;
        if parts.next()? != "aws4_request" || access_key.is_empty() || region.is_empty() {
            return None;
        }
        Some(CredentialScope {
            access_key: access_key.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }
}

impl ApiRequest {
    /// The credential scope from the `Authorization` header or the presigned query string.
    pub fn credential_scope(&self) -> Option<CredentialScope> {
        if let Some(header) = self.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()) {
            let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
            let credential = rest.split(',').map(str::trim).find_map(|part| part.strip_prefix("Credential="))?;
            return CredentialScope::parse(credential);
        }
        let query = self.uri.query()?;
        form_pairs(query.as_bytes())?
            .into_iter()
            .find(|(name, _)| name == "X-Amz-Credential")
            .and_then(|(_, value)| CredentialScope::parse(&value))
    }

    /// The operation a JSON-protocol request names: its `X-Amz-Target` after `prefix`
    /// (`AmazonSQS.`, `Logs_20140328.`), if the target has that prefix.
    pub fn target_operation(&self, prefix: &str) -> Option<&str> {
        self.header(X_AMZ_TARGET)?.strip_prefix(prefix)
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// `host[:port]` as the client addressed the server.
    pub fn host(&self) -> Option<&str> {
        self.header("host").or_else(|| self.uri.authority().map(|authority| authority.as_str()))
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs; `None` when a decoded name or value is
/// not UTF-8 (AWS rejects such requests rather than guessing).
pub fn form_pairs(input: &[u8]) -> Option<Vec<(String, String)>> {
    input
        .split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
                Some(idx) => (&pair[..idx], &pair[idx + 1..]),
                None => (pair, &[][..]),
            };
            Some((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

fn form_decode(input: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = input.iter().map(|&byte| if byte == b'+' { b' ' } else { byte }).collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_from_authorization_header() {
        let request = ApiRequest {
            method: Method::POST,
            uri: "/".parse().unwrap(),
            headers: {
                let mut headers = HeaderMap::new();
                headers.insert(
                    AUTHORIZATION,
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/ap-northeast-2/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                        .parse()
                        .unwrap(),
                );
                headers
            },
            body: Bytes::new(),
            peer: None,
        };
        let scope = request.credential_scope().expect("scope");
        assert_eq!(scope.access_key, "AKIDEXAMPLE");
        assert_eq!(scope.region, "ap-northeast-2");
        assert_eq!(scope.service, "sqs");
    }

    #[test]
    fn form_decoding() {
        let pairs = form_pairs(b"Action=SendMessage&MessageBody=a+b%20c%2B&Empty=&Bare&Bad=%zz%4").expect("utf-8");
        assert_eq!(
            pairs,
            [
                ("Action".into(), "SendMessage".into()),
                ("MessageBody".into(), "a b c+".into()),
                ("Empty".into(), "".into()),
                ("Bare".into(), "".into()),
                ("Bad".into(), "%zz%4".into()),
            ]
        );
        let korean = form_pairs("B=%EB%A9%94%EC%8B%9C%EC%A7%80".as_bytes()).expect("utf-8");
        assert_eq!(korean[0].1, "메시지");
        assert_eq!(form_pairs(b"B=%FF"), None, "invalid UTF-8 is refused, not replaced");
    }
}
