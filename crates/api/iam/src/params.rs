//! The parameters of a query-protocol request: the query string, plus the form body of a POST.
//!
//! # Wire
//! ```text
//! Action=CreateRole&Version=2010-05-08&RoleName=r&Tags.member.1.Key=k&Tags.member.1.Value=v
//! ```
//! Lists are `Name.member.N`, structures in lists `Name.member.N.Field`; `N` counts from 1.

use crate::error::IamApiError;
use http::Method;
use wharf_api_common::request::form_pairs;
use wharf_api_common::ApiRequest;

/// The largest number of list members read from one parameter.
const MAX_MEMBERS: usize = 1000;

/// A request's parameters, in order.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

/// `RoleName` → `roleName`, as the model's validation messages name members.
fn member(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

impl Params {
    /// The parameters of `request`, or `None` when they are not URL-encoded.
    pub fn of(request: &ApiRequest) -> Option<Params> {
        let mut pairs = match request.uri.query() {
            Some(query) => form_pairs(query.as_bytes())?,
            None => Vec::new(),
        };
        if request.method == Method::POST {
            pairs.extend(form_pairs(&request.body)?);
        }
        Some(Params(pairs))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The value of `name`, owned.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// The value of a required `name`.
    pub fn required(&self, name: &str) -> Result<String, IamApiError> {
        self.optional(name).ok_or_else(|| IamApiError::missing(&member(name)))
    }

    /// A number within `min..=max`.
    pub fn number(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, IamApiError> {
        let Some(text) = self.get(name) else { return Ok(None) };
        let value: u32 = text
            .parse()
            .map_err(|_| IamApiError::invalid(format!("1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must be a number", member(name))))?;
        if value < min {
            return Err(IamApiError::invalid(format!(
                "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                member(name)
            )));
        }
        if value > max {
            return Err(IamApiError::invalid(format!(
                "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                member(name)
            )));
        }
        Ok(Some(value))
    }

    /// A boolean (`true`/`false`).
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// The list `name.member.N`.
    pub fn list(&self, name: &str) -> Vec<String> {
        (1..=MAX_MEMBERS).map_while(|index| self.optional(&format!("{name}.member.{index}"))).collect()
    }

    /// The tag list `name.member.N.Key` / `.Value`.
    pub fn tags(&self, name: &str) -> Vec<(String, String)> {
        (1..=MAX_MEMBERS)
            .map_while(|index| {
                let key = self.optional(&format!("{name}.member.{index}.Key"))?;
                let value = self.optional(&format!("{name}.member.{index}.Value")).unwrap_or_default();
                Some((key, value))
            })
            .collect()
    }

    /// `MaxItems` (1–1000, 100 by default) and `Marker`.
    pub fn paging(&self) -> Result<(usize, Option<String>), IamApiError> {
        let most = self.number("MaxItems", 1, 1000)?.unwrap_or(100);
        Ok((most as usize, self.optional("Marker")))
    }
}
