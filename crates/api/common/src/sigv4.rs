//! Verifying AWS Signature Version 4 as a server must: the `Authorization` header form.
//!
//! [`parse`] reads the header; [`canonical_request`] rebuilds the canonical request from the
//! request as it arrived; [`verify`] computes the signature with the secret wharf knows for the
//! access key and compares it in constant time. The HMAC chain and the final HMAC are the
//! `aws-sigv4` crate's (`sign::v4`); the canonical request is built here because no maintained
//! crate builds it from an *incoming* request (`aws-sigv4` signs outgoing ones: re-signing a
//! reconstructed request would add its own headers and normalise the path, which the client
//! did not sign).
//!
//! Rules (IAM user guide, "Create a signed AWS API request"): the canonical URI is the path as
//! sent with every segment URI-encoded once more (all services but S3, so a Lambda ARN in a
//! path is encoded twice); the canonical query sorts the decoded-then-strictly-encoded pairs;
//! the canonical headers are the signed ones, lower-case, values trimmed with inner runs of
//! spaces collapsed; the payload hash is `x-amz-content-sha256` when sent, else the body's
//! SHA-256.
//!
//! Not wired into the pipeline yet (credentials are unverified, see `pipeline`); presigned
//! query strings are still to come.

use crate::request::{ApiRequest, AUTHORIZATION};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The algorithm wharf verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service.
    pub service: String,
    /// The signed header names, lower-case, in the order given.
    pub signed_headers: Vec<String>,
    /// The signature, hex.
    pub signature: String,
    /// Presigned (the parts in the query string): `X-Amz-Date` and `X-Amz-Expires` seconds.
    pub presigned: Option<(String, u64)>,
}

/// Why a request's signature cannot be checked or does not match, each with AWS's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Authorization` header (`MissingAuthenticationToken`).
    Missing,
    /// The header lacks a part or a part is malformed (`IncompleteSignature`).
    Incomplete(String),
    /// The signature is not the one the secret gives (`SignatureDoesNotMatch`).
    Mismatch,
}

impl SignatureError {
    /// The error code AWS answers.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "MissingAuthenticationToken",
            SignatureError::Incomplete(_) => "IncompleteSignature",
            SignatureError::Mismatch => "SignatureDoesNotMatch",
        }
    }
}

/// Reads the `Authorization` header, or the query string of a presigned URL.
pub fn parse(request: &ApiRequest) -> Result<Authorization, SignatureError> {
    let header = match request.header(AUTHORIZATION) {
        Some(header) => header,
        None => return parse_presigned(request),
    };
    let incomplete = |what: &str| SignatureError::Incomplete(format!("Authorization header requires {what}."));
    let rest = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| SignatureError::Incomplete(format!("Unsupported AWS 'algorithm': {header}")))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let credential = credential.ok_or_else(|| incomplete("'Credential' parameter"))?;
    let signed_headers = signed_headers.ok_or_else(|| incomplete("'SignedHeaders' parameter"))?;
    let signature = signature.ok_or_else(|| incomplete("'Signature' parameter"))?;
    scoped(credential, signed_headers, signature, None)
}

/// The parts of an `AWS4-HMAC-SHA256` signature, checked.
fn scoped(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    presigned: Option<(String, u64)>,
) -> Result<Authorization, SignatureError> {
    let incomplete = |what: &str| SignatureError::Incomplete(format!("Authorization requires {what}."));
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(SignatureError::Incomplete(format!(
            "Credential should be scoped to a valid region and service: {credential}"
        )));
    };
    let valid_date = date.len() == 8 && date.bytes().all(|byte| byte.is_ascii_digit());
    if access_key.is_empty() || !valid_date || region.is_empty() || service.is_empty() {
        return Err(SignatureError::Incomplete(format!("Credential should be scoped correctly: {credential}")));
    }
    let valid_signature = signature.len() == 64 && signature.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid_signature {
        return Err(incomplete("a valid 'Signature'"));
    }
    Ok(Authorization {
        access_key: (*access_key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed_headers.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_ascii_lowercase(),
        presigned,
    })
}

/// Reads a presigned URL's `X-Amz-*` query parameters.
fn parse_presigned(request: &ApiRequest) -> Result<Authorization, SignatureError> {
    let pairs = request.uri.query().and_then(|query| crate::request::form_pairs(query.as_bytes())).unwrap_or_default();
    let get = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let Some(algorithm) = get("X-Amz-Algorithm") else { return Err(SignatureError::Missing) };
    if algorithm != ALGORITHM {
        return Err(SignatureError::Incomplete(format!("Unsupported AWS 'algorithm': {algorithm}")));
    }
    let missing = |name: &str| SignatureError::Incomplete(format!("Presigned URL requires the parameter {name}."));
    let credential = get("X-Amz-Credential").ok_or_else(|| missing("X-Amz-Credential"))?;
    let date = get("X-Amz-Date").ok_or_else(|| missing("X-Amz-Date"))?;
    let expires = get("X-Amz-Expires").ok_or_else(|| missing("X-Amz-Expires"))?;
    let expires: u64 = expires
        .parse()
        .ok()
        .filter(|seconds| (1..=604_800).contains(seconds))
        .ok_or_else(|| SignatureError::Incomplete("X-Amz-Expires must be between 1 and 604800 seconds.".into()))?;
    let signed_headers = get("X-Amz-SignedHeaders").ok_or_else(|| missing("X-Amz-SignedHeaders"))?;
    let signature = get("X-Amz-Signature").ok_or_else(|| missing("X-Amz-Signature"))?;
    scoped(credential, signed_headers, signature, Some((date.to_owned(), expires)))
}

/// Seconds since the epoch of an `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`).
pub fn amz_date_seconds(amz_date: &str) -> Option<u64> {
    let bytes = amz_date.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let day = signing_time(amz_date.get(0..8)?)?.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() - 43_200;
    let number =
        |range: std::ops::Range<usize>, max: u64| amz_date.get(range)?.parse::<u64>().ok().filter(|n| *n <= max);
    Some(day + number(9..11, 23)? * 3600 + number(11..13, 59)? * 60 + number(13..15, 60)?)
}

/// Encodes every byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`), as SigV4 requires.
fn uri_encode(bytes: &[u8], out: &mut String) {
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// Decodes `%XX` escapes (not `+`: SigV4 query strings encode spaces as `%20`).
fn percent_decode(text: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(text).collect()
}

/// The canonical request of `request` for the signed headers of `authorization`.
pub fn canonical_request(request: &ApiRequest, authorization: &Authorization) -> String {
    let mut canonical = String::with_capacity(256);
    canonical.push_str(request.method.as_str());
    canonical.push('\n');
    // The path as sent, each segment encoded once more.
    let path = request.uri.path();
    if path.is_empty() || path == "/" {
        canonical.push('/');
    } else {
        for (index, segment) in path.split('/').enumerate() {
            if index > 0 {
                canonical.push('/');
            }
            uri_encode(segment.as_bytes(), &mut canonical);
        }
    }
    canonical.push('\n');
    let mut pairs: Vec<(String, String)> = request
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| authorization.presigned.is_none() || !pair.starts_with("X-Amz-Signature="))
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let mut encoded_name = String::new();
            uri_encode(&percent_decode(name), &mut encoded_name);
            let mut encoded_value = String::new();
            uri_encode(&percent_decode(value), &mut encoded_value);
            (encoded_name, encoded_value)
        })
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    canonical.push_str(&query.join("&"));
    canonical.push('\n');
    let mut names = authorization.signed_headers.clone();
    names.sort();
    for name in &names {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|value| {
                let text = String::from_utf8_lossy(value.as_bytes());
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        let _ = writeln!(canonical, "{name}:{}", values.join(","));
    }
    canonical.push('\n');
    canonical.push_str(&names.join(";"));
    canonical.push('\n');
    match request.header("x-amz-content-sha256") {
        Some(hash) => canonical.push_str(hash),
        None => canonical.push_str(&hex::encode(Sha256::digest(&request.body))),
    }
    canonical
}

/// The string to sign of a canonical request signed at `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub fn string_to_sign(authorization: &Authorization, amz_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        authorization.date,
        authorization.region,
        authorization.service,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Checks the signature of `request` against `secret`. `amz_date` is the request's
/// `X-Amz-Date`; the caller checks it against the clock and the scope's date.
pub fn verify(
    request: &ApiRequest,
    authorization: &Authorization,
    secret: &str,
    amz_date: &str,
) -> Result<(), SignatureError> {
    let key = signing_key(secret, authorization).ok_or(SignatureError::Mismatch)?;
    verify_with_key(request, authorization, &key, amz_date)
}

/// The signing key of `secret` for the authorization's scope (date, region, service), by
/// `aws-sigv4`; `None` for a malformed scope date. Callers may cache it per key and scope.
pub fn signing_key(secret: &str, authorization: &Authorization) -> Option<Vec<u8>> {
    let time = signing_time(&authorization.date)?;
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, &authorization.region, &authorization.service);
    Some(key.as_ref().to_vec())
}

/// Checks the signature of `request` with a signing key from [`signing_key`].
pub fn verify_with_key(
    request: &ApiRequest,
    authorization: &Authorization,
    key: &[u8],
    amz_date: &str,
) -> Result<(), SignatureError> {
    let canonical = canonical_request(request, authorization);
    let to_sign = string_to_sign(authorization, amz_date, &canonical);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
    if constant_time_eq(expected.as_bytes(), authorization.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Midday of a scope date (`YYYYMMDD`), which `generate_signing_key` reduces to the date.
fn signing_time(date: &str) -> Option<std::time::SystemTime> {
    let year: i64 = date.get(0..4)?.parse().ok()?;
    let month: u32 = date.get(4..6)?.parse().ok()?;
    let day: u32 = date.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = wharf_types::days_from_civil(year, month, day);
    let seconds = u64::try_from(days * 86_400 + 43_200).ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// Compares without stopping at the first difference, so timing tells nothing of the secret.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: http::Method, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> ApiRequest {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(http::HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("value"));
        }
        ApiRequest { method, uri: uri.parse().expect("uri"), headers: map, body: body.to_vec().into(), peer: None }
    }

    /// The vector of the reference (botocore 1.43.11's canonical request of a Lambda Invoke
    /// with an ARN in the path): the path is encoded twice.
    #[test]
    fn canonical_request_of_a_lambda_invoke_matches_botocore() {
        let uri = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Alambda_worker%3Alive/invocations";
        let req = request(
            http::Method::POST,
            uri,
            &[("host", "127.0.0.1:1"), ("x-amz-date", "20261125T044827Z"), ("x-amz-invocation-type", "Event")],
            br#"{"a":1}"#,
        );
        let authorization = Authorization {
            access_key: "AKID".into(),
            date: "20261125".into(),
            region: "us-east-1".into(),
            service: "lambda".into(),
            signed_headers: vec!["host".into(), "x-amz-date".into(), "x-amz-invocation-type".into()],
            signature: "0".repeat(64),
            presigned: None,
        };
        assert_eq!(
            canonical_request(&req, &authorization),
            "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A000000000000%253Afunction%253Alambda_worker%253Alive/invocations\n\n\
             host:127.0.0.1:1\nx-amz-date:20261125T044827Z\nx-amz-invocation-type:Event\n\n\
             host;x-amz-date;x-amz-invocation-type\n015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }

    /// Signs a request with the `aws-sigv4` crate (an independent signer), then verifies it;
    /// any tampered part fails.
    #[test]
    fn signatures_of_an_independent_signer_verify_and_tampering_fails() {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        use aws_sigv4::sign::v4;
        let identity = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret/key", None, None, "test").into();
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000);
        /// Method, path and query, headers, body, service.
        type Case<'a> = (http::Method, &'a str, Vec<(&'a str, &'a str)>, &'a [u8], &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                http::Method::POST,
                "/",
                vec![
                    ("host", "127.0.0.1:4566"),
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amz-target", "AmazonSQS.SendMessage"),
                ],
                br#"{"QueueUrl":"q","MessageBody":"hi"}"#,
                "sqs",
            ),
            (
                http::Method::GET,
                "/?Action=ListQueues&QueueNamePrefix=a%20b%2Bc&Version=2012-11-05",
                vec![("host", "127.0.0.1:4566")],
                b"",
                "sqs",
            ),
            (
                http::Method::POST,
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3Alive/invocations",
                vec![("host", "localhost:4566"), ("x-amz-invocation-type", "Event")],
                "메시지".as_bytes(),
                "lambda",
            ),
        ];
        for (method, uri, headers, body, service) in cases {
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("eu-west-1")
                .name(service)
                .time(time)
                .settings(SigningSettings::default())
                .build()
                .expect("params")
                .into();
            let signable = SignableRequest::new(
                method.as_str(),
                format!("http://{}{uri}", headers[0].1),
                headers.iter().copied(),
                SignableBody::Bytes(body),
            )
            .expect("signable");
            let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
            let mut all: Vec<(String, String)> =
                headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            for (name, value) in instructions.headers() {
                all.push((name.to_owned(), value.to_owned()));
            }
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            let req = request(method.clone(), uri, &borrowed, body);
            let authorization = parse(&req).expect("parses");
            assert_eq!((authorization.access_key.as_str(), authorization.service.as_str()), ("AKIDEXAMPLE", service));
            let amz_date = req.header("x-amz-date").expect("date").to_owned();
            assert_eq!(verify(&req, &authorization, "secret/key", &amz_date), Ok(()), "{uri}");
            assert_eq!(verify(&req, &authorization, "wrong", &amz_date), Err(SignatureError::Mismatch));
            let mut tampered_body = body.to_vec();
            tampered_body.push(b' ');
            let tampered = request(method.clone(), uri, &borrowed, &tampered_body);
            assert_eq!(verify(&tampered, &authorization, "secret/key", &amz_date), Err(SignatureError::Mismatch));
            let moved = request(method.clone(), &format!("{uri}x"), &borrowed, body);
            assert_eq!(verify(&moved, &authorization, "secret/key", &amz_date), Err(SignatureError::Mismatch));
        }
    }

    /// A request botocore 1.43.11 signed (`SigV4Auth.add_auth`, SQS JSON with
    /// `x-amzn-query-mode`, as boto3 sends it).
    #[test]
    fn a_botocore_signature_verifies() {
        let authorization_header = "AWS4-HMAC-SHA256 Credential=AKIDBOTOCORE/20261203/us-east-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, \
             Signature=a650804ca74045f8dd0111cba7f5419b81a5ce823d104c74af3667dc6fdbf46f";
        let req = request(
            http::Method::POST,
            "/",
            &[
                ("host", "127.0.0.1:4566"),
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.CreateQueue"),
                ("x-amzn-query-mode", "true"),
                ("x-amz-date", "20261203T133254Z"),
                ("authorization", authorization_header),
            ],
            br#"{"QueueName":"q"}"#,
        );
        let authorization = parse(&req).expect("parses");
        assert_eq!(verify(&req, &authorization, "bc/secret+key", "20261203T133254Z"), Ok(()));
        assert_eq!(verify(&req, &authorization, "bc/secret+kez", "20261203T133254Z"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn malformed_headers_are_incomplete_and_absent_ones_missing() {
        let header = |value: &str| request(http::Method::POST, "/", &[("authorization", value)], b"");
        assert_eq!(parse(&request(http::Method::POST, "/", &[], b"")), Err(SignatureError::Missing));
        for bad in [
            "AWS4-HMAC-SHA1 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/2024/r/s/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=zz",
        ] {
            assert!(matches!(parse(&header(bad)), Err(SignatureError::Incomplete(_))), "{bad}");
        }
        assert_eq!(SignatureError::Mismatch.code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn presigned_parts_come_from_the_query_and_the_signature_is_left_out_of_it() {
        let uri = "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
                   &X-Amz-Credential=AK%2F20261203%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261203T134432Z\
                   &X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=0a44f37ef39207bb2e9772cc046cd28f9ec9fcf6a3ca1d27ff0235e5031541e7";
        let req = request(http::Method::POST, uri, &[("host", "127.0.0.1:4566")], b"");
        let authorization = parse(&req).expect("presigned");
        assert_eq!(authorization.presigned, Some(("20261203T134432Z".to_owned(), 600)));
        // botocore 1.43.11's canonical request of this URL (SigV4QueryAuth).
        assert_eq!(
            canonical_request(&req, &authorization),
            "POST\n/\nAction=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AK%2F20261203%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261203T134432Z\
             &X-Amz-Expires=600&X-Amz-SignedHeaders=host\nhost:127.0.0.1:4566\n\nhost\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(verify(&req, &authorization, "s", "20261203T134432Z"), Ok(()));
        let too_long = request(http::Method::POST, &uri.replace("X-Amz-Expires=600", "X-Amz-Expires=604801"), &[], b"");
        assert!(matches!(parse(&too_long), Err(SignatureError::Incomplete(_))));
    }

    #[test]
    fn amz_dates_are_seconds_since_the_epoch() {
        assert_eq!(amz_date_seconds("19700101T000001Z"), Some(1));
        assert_eq!(amz_date_seconds("20261203T134432Z"), Some(1_796_305_472));
        for bad in ["20261203T134432", "20261203 134432Z", "20261203T254432Z", "2026120T1344320Z", ""] {
            assert_eq!(amz_date_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn signing_time_is_the_scope_date() {
        let time = signing_time("20261125").expect("date");
        let seconds = time.duration_since(std::time::UNIX_EPOCH).expect("after").as_secs();
        let civil = wharf_types::UtcDateTime::from_epoch_millis(seconds * 1000);
        assert_eq!(civil.iso8601_millis(), "2026-11-25T12:00:00.000Z");
        assert!(signing_time("20261325").is_none());
    }
}
