"""The Lambda control plane through boto3: create, read, list, update and delete functions,
versions and aliases, qualifier forms, concurrency, asynchronous settings, permissions, tags and
the waiters tools use."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from lambda_support import (
    ACCOUNT,
    REGION,
    ROLE,
    client_of,
    error_code,
    function_arn,
    http_status,
    invoke_json,
    make_zip,
    queue_arn,
    sha256_b64,
)

VERSIONED = """
VERSION = {version!r}

def handler(event, context):
    return {{"code": VERSION, "function_version": context.function_version,
            "arn": context.invoked_function_arn}}
"""

ENV_READER = """
import os

def handler(event, context):
    return {name: os.environ.get(name) for name in event["names"]}
"""


def versioned(version: str) -> bytes:
    return make_zip({"app.py": VERSIONED.format(version=version)})


def test_create_function_answers_201_active_with_code_digest(lambda_client):
    package = versioned("one")
    response = lambda_client.create_function(
        FunctionName="hello",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": package},
        Description="says hello",
        Timeout=5,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hi"}},
        Tags={"team": "core"},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert response["FunctionName"] == "hello"
    assert response["FunctionArn"] == function_arn("hello")
    assert response["Runtime"] == "python3.12"
    assert response["Role"] == ROLE
    assert response["Handler"] == "app.handler"
    assert response["Description"] == "says hello"
    assert response["Timeout"] == 5
    assert response["MemorySize"] == 256
    assert response["Version"] == "$LATEST"
    assert response["PackageType"] == "Zip"
    assert response["CodeSha256"] == sha256_b64(package)
    assert response["CodeSize"] == len(package)
    assert response["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert response["State"] == "Active"
    assert response["LastUpdateStatus"] == "Successful"
    assert response["RevisionId"]
    assert response["LastModified"]

    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="hello", Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": package}
        )
    assert error_code(excinfo) == "ResourceConflictException"
    assert http_status(excinfo) == 409


def test_create_defaults_and_invalid_requests(lambda_client):
    created = lambda_client.create_function(
        FunctionName="defaults", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": versioned("x")},
    )
    assert created["Timeout"] == 3
    assert created["MemorySize"] == 128
    assert created["Architectures"] == ["x86_64"]

    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="bad name!", Runtime="python3.12", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": versioned("x")},
        )
    assert error_code(excinfo) in ("InvalidParameterValueException", "ValidationException")
    assert http_status(excinfo) == 400

    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="notzip", Runtime="python3.12", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": b"this is not a zip file"},
        )
    assert error_code(excinfo) == "InvalidParameterValueException"

    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="toolong", Runtime="python3.12", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": versioned("x")}, Timeout=901,
        )
    assert error_code(excinfo) in ("InvalidParameterValueException", "ValidationException")


def test_a_runtime_wharf_cannot_run_is_refused_at_creation(lambda_client):
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(FunctionName="javaish", Runtime="java21", Role=ROLE, Handler="x.Handler",
                                      Code={"ZipFile": versioned("x")})
    assert error_code(excinfo) == "InvalidParameterValueException"
    assert excinfo.value.response["Error"]["Message"] == (
        "The runtime parameter of java21 is not supported by wharf: it runs python3.x, nodejs*.x, provided, "
        "provided.al2 and provided.al2023 functions"
    )


def test_a_member_of_the_wrong_type_is_invalid_request_content(wharf):
    """Lambda reads its bodies into typed members: an object where a string belongs cannot be
    read ("Could not parse request body into json"); boto3's own type checks are turned off to
    send it."""
    from botocore.config import Config  # noqa: PLC0415

    import boto3  # noqa: PLC0415

    raw = boto3.client("lambda", region_name="us-east-1", endpoint_url=wharf.endpoint, aws_access_key_id="x",
                       aws_secret_access_key="x", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as excinfo:
        raw.create_function(FunctionName="typed", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": versioned("x")}, Description={"not": "a string"})
    assert error_code(excinfo) == "InvalidRequestContentException"
    assert excinfo.value.response["Error"]["Message"].startswith("Could not parse request body into json")
    with pytest.raises(ClientError) as excinfo:
        raw.create_function(FunctionName="typed", Runtime="python3.12", Handler="app.handler", Code={"ZipFile": versioned("x")})
    assert error_code(excinfo) == "ValidationException"
    assert "Value null at 'role' failed to satisfy constraint: Member must not be null" in excinfo.value.response["Error"]["Message"]


def test_get_function_and_configuration(lambda_client, create_function):
    package = versioned("one")
    create_function("getme", package, Tags={"env": "test", "team": "core"})
    got = lambda_client.get_function(FunctionName="getme")
    configuration = got["Configuration"]
    assert configuration["FunctionName"] == "getme"
    assert configuration["FunctionArn"] == function_arn("getme")
    assert configuration["CodeSha256"] == sha256_b64(package)
    assert configuration["State"] == "Active"
    assert got["Tags"] == {"env": "test", "team": "core"}
    assert got["Code"]["RepositoryType"] == "S3"
    only = lambda_client.get_function_configuration(FunctionName="getme")
    only.pop("ResponseMetadata")
    for key, value in only.items():
        assert configuration[key] == value, key

    # Every accepted form of the name.
    for name in (function_arn("getme"), f"{ACCOUNT}:function:getme", "getme:$LATEST"):
        assert lambda_client.get_function_configuration(FunctionName=name)["FunctionName"] == "getme", name

    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function(FunctionName="missing")
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert http_status(excinfo) == 404
    assert "missing" in excinfo.value.response["Error"]["Message"]

    # On AWS, a presigned HTTPS URL of the package that any HTTP client can download.
    location = got["Code"]["Location"]
    assert location.startswith("http"), location
    with urllib.request.urlopen(location, timeout=10) as response:
        assert response.read() == package, "Code.Location serves the package"


def test_list_functions_pages_with_marker(lambda_client, create_function):
    names = [f"list-{index:02}" for index in range(5)]
    for name in names:
        create_function(name, versioned(name))
    first = lambda_client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2
    assert first["NextMarker"]
    seen = [function["FunctionName"] for function in first["Functions"]]
    marker = first["NextMarker"]
    while marker:
        page = lambda_client.list_functions(MaxItems=2, Marker=marker)
        assert len(page["Functions"]) <= 2
        seen.extend(function["FunctionName"] for function in page["Functions"])
        marker = page.get("NextMarker")
    assert sorted(seen) == names
    assert len(seen) == len(set(seen)), "no function twice across pages"

    paged = [
        function["FunctionName"]
        for page in lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 3})
        for function in page["Functions"]
    ]
    assert sorted(paged) == names
    assert all(function["Version"] == "$LATEST" for function in lambda_client.list_functions()["Functions"])


def test_update_code_and_waiter(lambda_client, create_function):
    create_function("updcode", versioned("one"))
    assert invoke_json(lambda_client, "updcode")[1]["code"] == "one"
    package = versioned("two")
    updated = lambda_client.update_function_code(FunctionName="updcode", ZipFile=package)
    assert updated["CodeSha256"] == sha256_b64(package)
    assert updated["CodeSize"] == len(package)
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName="updcode", WaiterConfig={"Delay": 1})
    assert lambda_client.get_function(FunctionName="updcode")["Configuration"]["LastUpdateStatus"] == "Successful"
    assert invoke_json(lambda_client, "updcode")[1]["code"] == "two", "the warm environment was replaced"


def test_update_configuration_replaces_environment(lambda_client, create_function):
    create_function("envs", ENV_READER, Environment={"Variables": {"A": "1", "B": "2"}})
    assert invoke_json(lambda_client, "envs", {"names": ["A", "B", "C"]})[1] == {"A": "1", "B": "2", "C": None}
    updated = lambda_client.update_function_configuration(
        FunctionName="envs", Environment={"Variables": {"C": "3"}}, Timeout=7, MemorySize=512, Description="new"
    )
    assert updated["Environment"] == {"Variables": {"C": "3"}}, "Environment replaces the whole map"
    assert (updated["Timeout"], updated["MemorySize"], updated["Description"]) == (7, 512, "new")
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName="envs", WaiterConfig={"Delay": 1})
    assert invoke_json(lambda_client, "envs", {"names": ["A", "B", "C"]})[1] == {"A": None, "B": None, "C": "3"}
    config = lambda_client.get_function_configuration(FunctionName="envs")
    assert config["Environment"] == {"Variables": {"C": "3"}}
    assert config["MemorySize"] == 512


def test_delete_function(lambda_client, create_function):
    create_function("doomed", versioned("one"))
    invoke_json(lambda_client, "doomed")
    response = lambda_client.delete_function(FunctionName="doomed")
    assert response["ResponseMetadata"]["HTTPStatusCode"] in (200, 204)
    for call in (
        lambda: lambda_client.get_function(FunctionName="doomed"),
        lambda: lambda_client.invoke(FunctionName="doomed", Payload=b"{}"),
        lambda: lambda_client.delete_function(FunctionName="doomed"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "ResourceNotFoundException"
    assert [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]] == []
    create_function("doomed", versioned("again"))
    assert invoke_json(lambda_client, "doomed")[1]["code"] == "again"


def test_versions_aliases_and_qualified_invokes(lambda_client, create_function):
    create_function("ver", versioned("one"))
    published = lambda_client.publish_version(FunctionName="ver", Description="first")
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["Version"] == "1"
    assert published["FunctionArn"] == function_arn("ver") + ":1"
    assert published["Description"] == "first"
    lambda_client.update_function_code(FunctionName="ver", ZipFile=versioned("two"))
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName="ver", WaiterConfig={"Delay": 1})
    assert lambda_client.publish_version(FunctionName="ver")["Version"] == "2"
    versions = lambda_client.list_versions_by_function(FunctionName="ver")["Versions"]
    assert [version["Version"] for version in versions] == ["$LATEST", "1", "2"]

    alias = lambda_client.create_alias(FunctionName="ver", Name="live", FunctionVersion="1", Description="prod")
    assert alias["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert alias["AliasArn"] == function_arn("ver") + ":live"
    assert (alias["Name"], alias["FunctionVersion"], alias["Description"]) == ("live", "1", "prod")
    assert lambda_client.get_alias(FunctionName="ver", Name="live")["FunctionVersion"] == "1"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_alias(FunctionName="ver", Name="live", FunctionVersion="2")
    assert error_code(excinfo) == "ResourceConflictException"

    def run(name, **kw):
        response, body = invoke_json(lambda_client, name, **kw)
        return response["ExecutedVersion"], body["code"], body["function_version"], body["arn"]

    assert run("ver") == ("$LATEST", "two", "$LATEST", function_arn("ver"))
    assert run("ver:1") == ("1", "one", "1", function_arn("ver") + ":1")
    assert run("ver", Qualifier="2") == ("2", "two", "2", function_arn("ver") + ":2")
    assert run("ver:live") == ("1", "one", "1", function_arn("ver") + ":live")
    assert run("ver", Qualifier="live")[:2] == ("1", "one")
    assert run(function_arn("ver"))[:2] == ("$LATEST", "two")
    assert run(function_arn("ver") + ":live")[:2] == ("1", "one")
    assert run(f"{ACCOUNT}:function:ver")[:2] == ("$LATEST", "two")
    assert run(f"{ACCOUNT}:function:ver:1")[:2] == ("1", "one")

    updated = lambda_client.update_alias(FunctionName="ver", Name="live", FunctionVersion="2")
    assert updated["FunctionVersion"] == "2"
    assert run("ver:live")[:2] == ("2", "two")
    lambda_client.create_alias(FunctionName="ver", Name="beta", FunctionVersion="$LATEST")
    aliases = lambda_client.list_aliases(FunctionName="ver")["Aliases"]
    assert sorted((a["Name"], a["FunctionVersion"]) for a in aliases) == [("beta", "$LATEST"), ("live", "2")]
    assert lambda_client.delete_alias(FunctionName="ver", Name="beta")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_alias(FunctionName="ver", Name="beta")
    assert error_code(excinfo) == "ResourceNotFoundException"
    for missing in ("ver:9", "ver:nope"):
        with pytest.raises(ClientError) as excinfo:
            lambda_client.invoke(FunctionName=missing, Payload=b"{}")
        assert error_code(excinfo) == "ResourceNotFoundException", missing

    version_one = lambda_client.get_function(FunctionName="ver", Qualifier="1")["Configuration"]
    assert version_one["Version"] == "1"
    assert version_one["FunctionArn"] == function_arn("ver") + ":1"


def test_publish_on_create_and_unchanged_publish(lambda_client, create_function):
    created = create_function("pub", versioned("one"), Publish=True)
    assert created["Version"] == "1"
    again = lambda_client.publish_version(FunctionName="pub")
    assert again["Version"] == "1", "publishing unchanged code returns the latest version"


def test_function_concurrency(lambda_client, create_function):
    create_function("conc", versioned("one"))
    assert "ReservedConcurrentExecutions" not in lambda_client.get_function_concurrency(FunctionName="conc")
    put = lambda_client.put_function_concurrency(FunctionName="conc", ReservedConcurrentExecutions=3)
    assert put["ReservedConcurrentExecutions"] == 3
    assert lambda_client.get_function_concurrency(FunctionName="conc")["ReservedConcurrentExecutions"] == 3
    assert lambda_client.get_function(FunctionName="conc")["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    deleted = lambda_client.delete_function_concurrency(FunctionName="conc")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in lambda_client.get_function_concurrency(FunctionName="conc")
    with pytest.raises(ClientError) as excinfo:
        lambda_client.put_function_concurrency(FunctionName="missing", ReservedConcurrentExecutions=1)
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_event_invoke_config_lifecycle(lambda_client, create_function):
    create_function("eic", versioned("one"))
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_event_invoke_config(FunctionName="eic")
    assert error_code(excinfo) == "ResourceNotFoundException"
    destinations = {
        "OnSuccess": {"Destination": queue_arn("ok")},
        "OnFailure": {"Destination": queue_arn("failed")},
    }
    put = lambda_client.put_function_event_invoke_config(
        FunctionName="eic", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120, DestinationConfig=destinations
    )
    assert put["FunctionArn"] == function_arn("eic") + ":$LATEST"
    assert put["MaximumRetryAttempts"] == 1
    assert put["MaximumEventAgeInSeconds"] == 120
    assert put["DestinationConfig"] == destinations
    assert put["LastModified"]
    got = lambda_client.get_function_event_invoke_config(FunctionName="eic")
    assert (got["MaximumRetryAttempts"], got["DestinationConfig"]) == (1, destinations)

    updated = lambda_client.update_function_event_invoke_config(FunctionName="eic", MaximumRetryAttempts=0)
    assert updated["MaximumRetryAttempts"] == 0
    assert updated["MaximumEventAgeInSeconds"] == 120, "update keeps what it does not name"
    assert updated["DestinationConfig"] == destinations

    replaced = lambda_client.put_function_event_invoke_config(FunctionName="eic", MaximumRetryAttempts=2)
    assert replaced["MaximumRetryAttempts"] == 2
    assert "MaximumEventAgeInSeconds" not in replaced, "put replaces the whole configuration"
    assert not replaced.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")

    listed = lambda_client.list_function_event_invoke_configs(FunctionName="eic")["FunctionEventInvokeConfigs"]
    assert [config["FunctionArn"] for config in listed] == [function_arn("eic") + ":$LATEST"]
    assert lambda_client.delete_function_event_invoke_config(FunctionName="eic")["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 204
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_event_invoke_config(FunctionName="eic")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_permissions_policy(lambda_client, create_function):
    create_function("perm", versioned("one"))
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_policy(FunctionName="perm")
    assert error_code(excinfo) == "ResourceNotFoundException"
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/every-minute"
    added = lambda_client.add_permission(
        FunctionName="perm",
        StatementId="events-invoke",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "events-invoke"
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == function_arn("perm")
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": rule_arn}}

    lambda_client.add_permission(
        FunctionName="perm", StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
    )
    with pytest.raises(ClientError) as excinfo:
        lambda_client.add_permission(
            FunctionName="perm", StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
        )
    assert error_code(excinfo) == "ResourceConflictException"

    policy_response = lambda_client.get_policy(FunctionName="perm")
    assert isinstance(policy_response["Policy"], str), "Policy is a JSON string"
    policy = json.loads(policy_response["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == ["events-invoke", "s3-invoke"]
    assert policy_response["RevisionId"]

    removed = lambda_client.remove_permission(FunctionName="perm", StatementId="events-invoke")
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    policy = json.loads(lambda_client.get_policy(FunctionName="perm")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3-invoke"]
    with pytest.raises(ClientError) as excinfo:
        lambda_client.remove_permission(FunctionName="perm", StatementId="events-invoke")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_tags(lambda_client, create_function):
    arn = create_function("tagged", versioned("one"), Tags={"a": "1"})["FunctionArn"]
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"a": "1"}
    assert lambda_client.tag_resource(Resource=arn, Tags={"b": "2", "a": "changed"})["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 204
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"a": "changed", "b": "2"}
    assert lambda_client.untag_resource(Resource=arn, TagKeys=["a"])["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    assert lambda_client.get_function(FunctionName="tagged")["Tags"] == {"b": "2"}
    with pytest.raises(ClientError) as excinfo:
        lambda_client.list_tags(Resource=function_arn("missing"))
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_functions_are_per_region(wharf):
    east, west = client_of(wharf, "lambda", "us-east-1"), client_of(wharf, "lambda", "eu-west-1")
    east.create_function(
        FunctionName="regional", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": versioned("east")},
    )
    assert west.list_functions()["Functions"] == []
    with pytest.raises(ClientError) as excinfo:
        west.get_function(FunctionName="regional")
    assert error_code(excinfo) == "ResourceNotFoundException"
    made = west.create_function(
        FunctionName="regional", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": versioned("west")},
    )
    assert made["FunctionArn"] == function_arn("regional", "eu-west-1")
