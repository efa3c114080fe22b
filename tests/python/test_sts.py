"""STS GetCallerIdentity through boto3 (the query protocol, in both virtualenvs' botocore)."""

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_support import auth_off_only


def sts(wharf, access_key: str):
    return boto3.client("sts", region_name="us-east-1", endpoint_url=wharf.endpoint,
                        aws_access_key_id=access_key, aws_secret_access_key="x")


@auth_off_only
def test_get_caller_identity_names_the_account_root(wharf):
    identity = sts(wharf, "AKIAWHARFEXAMPLE").get_caller_identity()
    assert (identity["Account"], identity["UserId"], identity["Arn"]) == (
        "000000000000", "000000000000", "arn:aws:iam::000000000000:root")
    assert identity["ResponseMetadata"]["RequestId"]
    other = sts(wharf, "123456789012").get_caller_identity()
    assert other["Arn"] == "arn:aws:iam::123456789012:root", "a 12-digit access key is that account"


def test_assume_role_of_a_role_that_does_not_exist_is_access_denied(wharf):
    with pytest.raises(ClientError) as error:
        sts(wharf, "x").assume_role(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="session")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert error.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::000000000000:role/r")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_actions_wharf_does_not_implement_are_refused_clearly(wharf):
    with pytest.raises(ClientError) as error:
        sts(wharf, "x").get_federation_token(Name="someone")
    assert error.value.response["Error"]["Code"] == "InvalidAction"
    assert "GetFederationToken" in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
