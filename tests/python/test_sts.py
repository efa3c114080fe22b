"""STS GetCallerIdentity through boto3 (the query protocol, in both virtualenvs' botocore)."""

import boto3
import pytest
from botocore.exceptions import ClientError


def sts(wharf, access_key: str):
    return boto3.client("sts", region_name="us-east-1", endpoint_url=wharf.endpoint,
                        aws_access_key_id=access_key, aws_secret_access_key="x")


def test_get_caller_identity_names_the_account_root(wharf):
    identity = sts(wharf, "AKIAWHARFEXAMPLE").get_caller_identity()
    assert (identity["Account"], identity["UserId"], identity["Arn"]) == (
        "000000000000", "000000000000", "arn:aws:iam::000000000000:root")
    assert identity["ResponseMetadata"]["RequestId"]
    other = sts(wharf, "123456789012").get_caller_identity()
    assert other["Arn"] == "arn:aws:iam::123456789012:root", "a 12-digit access key is that account"


def test_actions_that_need_iam_are_refused_clearly(wharf):
    with pytest.raises(ClientError) as error:
        sts(wharf, "x").assume_role(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="session")
    assert error.value.response["Error"]["Code"] == "InvalidAction"
    assert "AssumeRole" in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
