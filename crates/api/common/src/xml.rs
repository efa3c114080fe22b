//! The one XML writer of the AWS query protocol: any `Serialize` output struct, written as
//! `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata>`.
//!
//! Output structs carry the JSON protocol's member names (serde renames), so the JSON writer
//! is plain `serde_json`. The query protocol names lists and maps differently (SQS flattens
//! `QueueUrls` into repeated `<QueueUrl>`, maps into `<Attribute><Name/><Value/></Attribute>`;
//! IAM wraps lists in `<member>`): a service says how through [`XmlNames`], keyed by the member
//! name, as its query-era service model does with `locationName` and `flattened`.
//!
//! Written by hand because no serde XML crate lets one struct keep JSON names for one protocol
//! and query names for the other; quick-xml's serializer names elements after the serde names.

use crate::response::xml_escape;
use serde::ser::{self, Serialize};
use std::fmt::{self, Write as _};

/// How a list member is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListStyle {
    /// The element around the items, when the list is not flattened.
    pub wrapper: Option<String>,
    /// Each item's element.
    pub item: String,
}

/// How a map member is written: one `entry` element per pair, holding `key` and `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapStyle {
    /// The element around the entries, when the map is not flattened.
    pub wrapper: Option<String>,
    /// Each pair's element.
    pub entry: String,
    /// The key's element.
    pub key: String,
    /// The value's element.
    pub value: String,
}

/// A service's query-protocol names for list and map members.
pub trait XmlNames {
    /// How the list member `member` is written; `None` writes each item as `<member>` itself.
    fn list(&self, member: &str) -> Option<ListStyle>;
    /// How the map member `member` is written; `None` writes `<member><entry><key/><value/>…`.
    fn map(&self, member: &str) -> Option<MapStyle>;
}

/// Why an output could not be written (a type the query protocol has no form for).
#[derive(Debug)]
pub struct XmlError(String);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

impl ser::Error for XmlError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        XmlError(msg.to_string())
    }
}

/// The HTTP answer of a written query response: `200 text/xml`, or, when the output could not
/// be written, a `500` of the service's `failure_code` (`InternalFailure`, IAM's
/// `ServiceFailure`) in `namespace`.
pub fn answer(
    namespace: &str,
    request_id: &str,
    written: Result<Vec<u8>, XmlError>,
    failure_code: &str,
) -> crate::ApiResponse {
    match written {
        Ok(body) => crate::ApiResponse::ok("text/xml", request_id, body),
        Err(err) => {
            let message = err.to_string();
            let error = crate::ErrorBody {
                status: http::StatusCode::INTERNAL_SERVER_ERROR,
                json_type: failure_code,
                query_code: None,
                fault: crate::Fault::Receiver,
                message: &message,
                reason: None,
            };
            crate::ApiResponse::xml_error_in(namespace, request_id, &error)
        }
    }
}

/// The whole answer of `action` in `namespace`; `result` is `None` for operations whose
/// output shape is empty (no `<ActionResult>` element at all). An empty result is written
/// self-closing (`<ReceiveMessageResult/>`), as AWS writes it.
pub fn query_response<T: Serialize + ?Sized>(
    action: &str,
    namespace: &str,
    result: Option<&T>,
    request_id: &str,
    names: &dyn XmlNames,
) -> Result<Vec<u8>, XmlError> {
    let mut out = String::with_capacity(512);
    let _ = write!(out, "<?xml version=\"1.0\"?><{action}Response xmlns=\"{namespace}\">");
    if let Some(result) = result {
        let name = format!("{action}Result");
        result.serialize(Element { out: &mut out, names, name: &name })?;
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        xml_escape(request_id)
    );
    Ok(out.into_bytes())
}

/// Serializes one value as the element `name`.
struct Element<'a> {
    out: &'a mut String,
    names: &'a dyn XmlNames,
    name: &'a str,
}

impl Element<'_> {
    fn text(self, text: &str) -> Result<(), XmlError> {
        let _ = write!(self.out, "<{0}>{1}</{0}>", self.name, xml_escape(text));
        Ok(())
    }
}

fn unsupported(what: &str) -> XmlError {
    XmlError(format!("the query protocol has no form for {what}"))
}

impl<'a> ser::Serializer for Element<'a> {
    type Ok = ();
    type Error = XmlError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = ser::Impossible<(), XmlError>;
    type SerializeTupleStruct = ser::Impossible<(), XmlError>;
    type SerializeTupleVariant = ser::Impossible<(), XmlError>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Struct<'a>;
    type SerializeStructVariant = ser::Impossible<(), XmlError>;

    fn serialize_bool(self, v: bool) -> Result<(), XmlError> {
        self.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), XmlError> {
        self.text(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), XmlError> {
        self.text(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), XmlError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), XmlError> {
        self.text(&v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<(), XmlError> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), XmlError> {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), XmlError> {
        Err(unsupported("raw bytes (encode blobs as base64 text)"))
    }
    fn serialize_none(self) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), XmlError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, XmlError> {
        let style = self.names.list(self.name).unwrap_or(ListStyle { wrapper: None, item: self.name.to_owned() });
        if let Some(wrapper) = &style.wrapper {
            let _ = write!(self.out, "<{wrapper}>");
        }
        Ok(Seq { out: self.out, names: self.names, style })
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, XmlError> {
        Err(unsupported("tuples"))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, XmlError> {
        Err(unsupported("tuple structs"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, XmlError> {
        Err(unsupported("tuple variants"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, XmlError> {
        let style = self.names.map(self.name).unwrap_or(MapStyle {
            wrapper: Some(self.name.to_owned()),
            entry: "entry".into(),
            key: "key".into(),
            value: "value".into(),
        });
        if let Some(wrapper) = &style.wrapper {
            let _ = write!(self.out, "<{wrapper}>");
        }
        Ok(Map { out: self.out, names: self.names, style })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Struct<'a>, XmlError> {
        let _ = write!(self.out, "<{}>", self.name);
        let start = self.out.len();
        Ok(Struct { out: self.out, names: self.names, name: self.name.to_owned(), start })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, XmlError> {
        Err(unsupported("struct variants"))
    }
}

/// The members of a struct, each its own element.
pub struct Struct<'a> {
    out: &'a mut String,
    names: &'a dyn XmlNames,
    name: String,
    /// Where the children begin, to close an empty element as `<name/>`.
    start: usize,
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), XmlError> {
        value.serialize(Element { out: self.out, names: self.names, name: key })
    }

    fn end(self) -> Result<(), XmlError> {
        if self.out.len() == self.start {
            self.out.truncate(self.start - 1);
            self.out.push_str("/>");
        } else {
            let _ = write!(self.out, "</{}>", self.name);
        }
        Ok(())
    }
}

/// The items of a list.
pub struct Seq<'a> {
    out: &'a mut String,
    names: &'a dyn XmlNames,
    style: ListStyle,
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        value.serialize(Element { out: self.out, names: self.names, name: &self.style.item })
    }

    fn end(self) -> Result<(), XmlError> {
        if let Some(wrapper) = &self.style.wrapper {
            let _ = write!(self.out, "</{wrapper}>");
        }
        Ok(())
    }
}

/// The pairs of a map.
pub struct Map<'a> {
    out: &'a mut String,
    names: &'a dyn XmlNames,
    style: MapStyle,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), XmlError> {
        let _ = write!(self.out, "<{}>", self.style.entry);
        key.serialize(Element { out: self.out, names: self.names, name: &self.style.key })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        value.serialize(Element { out: self.out, names: self.names, name: &self.style.value })?;
        let _ = write!(self.out, "</{}>", self.style.entry);
        Ok(())
    }

    fn end(self) -> Result<(), XmlError> {
        if let Some(wrapper) = &self.style.wrapper {
            let _ = write!(self.out, "</{wrapper}>");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Names;

    impl XmlNames for Names {
        fn list(&self, member: &str) -> Option<ListStyle> {
            match member {
                "Urls" => Some(ListStyle { wrapper: None, item: "Url".into() }),
                "Users" => Some(ListStyle { wrapper: Some("Users".into()), item: "member".into() }),
                _ => None,
            }
        }

        fn map(&self, member: &str) -> Option<MapStyle> {
            (member == "Attributes").then(|| MapStyle {
                wrapper: None,
                entry: "Attribute".into(),
                key: "Name".into(),
                value: "Value".into(),
            })
        }
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct User {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        urls: Vec<String>,
        users: Vec<User>,
        attributes: BTreeMap<String, String>,
        count: i64,
        truncated: bool,
        missing: Option<String>,
    }

    #[test]
    fn flattened_and_wrapped_lists_maps_and_escapes() {
        let output = Output {
            urls: vec!["a&b".into(), "c".into()],
            users: vec![User { name: "x".into(), path: None }, User { name: "y".into(), path: Some("/p/".into()) }],
            attributes: [("k".to_owned(), "<v>".to_owned())].into(),
            count: -3,
            truncated: false,
            missing: None,
        };
        let xml = query_response("List", "urn:ns", Some(&output), "rid", &Names).expect("writes");
        assert_eq!(
            String::from_utf8(xml).expect("utf-8"),
            "<?xml version=\"1.0\"?><ListResponse xmlns=\"urn:ns\"><ListResult><Url>a&amp;b</Url><Url>c</Url>\
             <Users><member><Name>x</Name></member><member><Name>y</Name><Path>/p/</Path></member></Users>\
             <Attribute><Name>k</Name><Value>&lt;v&gt;</Value></Attribute><Count>-3</Count>\
             <Truncated>false</Truncated></ListResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></ListResponse>"
        );
    }

    #[derive(serde::Serialize)]
    struct Empty {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        items: Vec<String>,
    }

    #[test]
    fn empty_results_close_themselves_and_absent_results_are_left_out() {
        let xml = query_response("Receive", "urn:ns", Some(&Empty { items: vec![] }), "r", &Names).expect("writes");
        assert!(String::from_utf8(xml).expect("utf-8").contains("<ReceiveResult/><ResponseMetadata>"));
        let xml = query_response::<Empty>("Delete", "urn:ns", None, "r", &Names).expect("writes");
        assert!(!String::from_utf8(xml).expect("utf-8").contains("DeleteResult"));
    }
}
