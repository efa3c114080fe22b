//! Execution roles: Lambda assuming a function's role through `wharf_iam`, as the service
//! principal `lambda.amazonaws.com`, so everything a function does is checked against its role.

use std::sync::Arc;
use wharf_functions::ports::{ExecutionRoles, RoleCredentials};
use wharf_iam::Iam;

/// [`ExecutionRoles`] over wharf's IAM.
#[derive(Debug)]
pub struct IamExecutionRoles {
    /// The IAM engine.
    pub iam: Arc<Iam>,
    /// Whether credentials are checked (auth log or enforce): then a role that cannot be
    /// assumed is reported to the function's log.
    pub checked: bool,
}

/// The service principal Lambda assumes roles as.
const LAMBDA: &str = "lambda.amazonaws.com";

impl ExecutionRoles for IamExecutionRoles {
    fn assume(
        &self,
        role_arn: &str,
        function_arn: &str,
        session_name: &str,
        duration_seconds: u32,
    ) -> Result<RoleCredentials, Option<String>> {
        let session = self
            .iam
            .assume_role_for_service(LAMBDA, role_arn, session_name, duration_seconds, Some(function_arn.to_owned()))
            .map_err(|err| self.checked.then(|| err.to_string()))?;
        Ok(RoleCredentials {
            access_key_id: session.access_key_id,
            secret_access_key: session.secret_access_key,
            session_token: session.session_token,
            expires_ms: session.expires_ms,
        })
    }

    fn lambda_may_assume(&self, role_arn: &str) -> Option<bool> {
        let role = self.iam.role_by_arn(role_arn)?;
        Some(self.iam.service_may_assume(LAMBDA, &role))
    }
}
