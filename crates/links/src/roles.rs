//! Execution roles: Lambda assuming a function's role through `wharf_iam`, as the service
//! principal `lambda.amazonaws.com`, so everything a function does is checked against its role.

use crate::access::{Actor, Checks, ServiceAccess};
use async_trait::async_trait;
use std::sync::Arc;
use wharf_functions::ports::{ExecutionRoles, FunctionRole, RoleCredentials};
use wharf_iam::Iam;

/// [`ExecutionRoles`] over wharf's IAM.
#[derive(Debug)]
pub struct IamExecutionRoles {
    /// The IAM engine.
    pub iam: Arc<Iam>,
    /// What the roles may do; with auth checked, a role that cannot be assumed is also
    /// reported to the function's log.
    pub access: Arc<ServiceAccess>,
}

/// The service principal Lambda assumes roles as.
const LAMBDA: &str = "lambda.amazonaws.com";

#[async_trait]
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
            .map_err(|err| (self.access.checks() != Checks::Off).then(|| err.to_string()))?;
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

    async fn permits(&self, role: &FunctionRole, action: &str, resource_arn: &str) -> Result<(), String> {
        let actor = Actor::Role { role_arn: &role.role_arn, function_arn: &role.function_arn };
        self.access.check(actor, action, resource_arn).await
    }
}
