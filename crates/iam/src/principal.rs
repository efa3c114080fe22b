//! Who a request comes from, once its credentials are verified.

use crate::session::{SessionClaims, SessionSubject};
use std::sync::Arc;

/// An authenticated principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An account's root: its configured keys, or any key while auth is off.
    Root {
        /// The account.
        account: String,
    },
    /// An IAM user, through one of its access keys.
    User {
        /// The account.
        account: String,
        /// The user's name.
        name: String,
        /// The user's path.
        path: String,
        /// The user's unique id (`AIDA…`).
        id: String,
    },
    /// Temporary credentials issued by STS (or to a function).
    Session(Arc<SessionClaims>),
}

impl Principal {
    /// The account the principal acts in.
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account } | Principal::User { account, .. } => account,
            Principal::Session(claims) => &claims.account,
        }
    }

    /// The principal's ARN as AWS reports it (GetCallerIdentity, `aws:PrincipalArn` of a user).
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
            Principal::User { account, name, path, .. } => format!("arn:aws:iam::{account}:user{path}{name}"),
            Principal::Session(claims) => match &claims.subject {
                SessionSubject::Role { name, session_name, .. } => {
                    format!("arn:aws:sts::{}:assumed-role/{name}/{session_name}", claims.account)
                }
                SessionSubject::User { name } => format!("arn:aws:iam::{}:user/{name}", claims.account),
                SessionSubject::Root => format!("arn:aws:iam::{}:root", claims.account),
            },
        }
    }

    /// The principal's id as AWS reports it (`UserId`, `SenderId`, `aws:userid`): the account
    /// id for root, `AIDA…` for a user, `AROA…:session` for a role session.
    pub fn id(&self) -> String {
        match self {
            Principal::Root { account } => account.clone(),
            Principal::User { id, .. } => id.clone(),
            Principal::Session(claims) => match &claims.subject {
                SessionSubject::Role { id, session_name, .. } => format!("{id}:{session_name}"),
                SessionSubject::User { name } => format!("{}:{name}", claims.access_key_id),
                SessionSubject::Root => claims.account.clone(),
            },
        }
    }

    /// The role's ARN (for a role session): what `aws:PrincipalArn` is, and what a policy
    /// naming the role matches.
    pub fn role_arn(&self) -> Option<String> {
        match self {
            Principal::Session(claims) => match &claims.subject {
                SessionSubject::Role { name, path, .. } => {
                    Some(format!("arn:aws:iam::{}:role{path}{name}", claims.account))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, the principal's ARN otherwise.
    pub fn principal_arn(&self) -> String {
        self.role_arn().unwrap_or_else(|| self.arn())
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self {
            Principal::Root { .. } => "Account",
            Principal::User { .. } => "User",
            Principal::Session(claims) => match claims.subject {
                SessionSubject::Role { .. } => "AssumedRole",
                SessionSubject::User { .. } => "User",
                SessionSubject::Root => "Account",
            },
        }
    }

    /// Whether this is an account's root (its own credentials or a session of them).
    pub fn is_root(&self) -> bool {
        matches!(self, Principal::Root { .. })
            || matches!(self, Principal::Session(claims) if claims.subject == SessionSubject::Root)
    }
}
