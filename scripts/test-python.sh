#!/usr/bin/env bash
# Runs the Python black-box suite (tests/python) against the real wharf binary, once per SQS
# wire protocol:
#   .venv/json   boto3 1.43.11 + botocore 1.43.11 + awscli 1.45.11  awsJson1_0 (what current SDKs speak)
#   .venv/query  boto3 1.34.0 + botocore 1.34.0   the legacy AWS query protocol (form + XML)
#
# Usage (from anywhere; it works from the repository root):
#   scripts/test-python.sh                 both protocols
#   WHARF_PROTOCOLS=json scripts/test-python.sh -k lifecycle -x   one protocol, extra pytest args
#
# Environment:
#   WHARF_BIN        the binary to test (default target/debug/wharf); it is not built here
#   WHARF_PROTOCOLS  which runs to do (default "json query")
#   PYTHON           the interpreter that creates the virtualenvs (default python3)
#   WHARF_TEST_WORKERS  pytest-xdist workers (default 2; 0 runs the tests in this process)
#   WHARF_AUTHS      which auth modes the json run is repeated in (default "off enforce"): with
#                    enforce, every server has auth enforced with the suite's keys as root keys
#                    (tests/python/conftest.py); the files that configure auth themselves run once
#
# The virtualenvs are created once and reused; a marker file records what was installed, so a
# change of the pinned versions below recreates them. Exits non-zero if any run fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root="$(pwd)"

PYTHON="${PYTHON:-python3}"
WHARF_BIN="${WHARF_BIN:-target/debug/wharf}"
case "$WHARF_BIN" in
    /*) ;;
    *) WHARF_BIN="$repo_root/$WHARF_BIN" ;;
esac
export WHARF_BIN
WHARF_PROTOCOLS="${WHARF_PROTOCOLS:-json query}"
WHARF_AUTHS="${WHARF_AUTHS:-off enforce}"

if [[ ! -x "$WHARF_BIN" ]]; then
    echo "test-python: $WHARF_BIN is missing or not executable; build it first (cargo build)" >&2
    exit 2
fi

requirements_for() {
    case "$1" in
        json) echo "boto3==1.43.11 botocore==1.43.11 awscli==1.45.11 pytest pytest-xdist" ;;
        query) echo "boto3==1.34.0 botocore==1.34.0 pytest pytest-xdist" ;;
        *)
            echo "test-python: unknown protocol '$1' (json or query)" >&2
            return 1
            ;;
    esac
}

# Creates .venv/NAME with the given requirements unless the marker says it already has them.
ensure_venv() {
    local name="$1" requirements="$2"
    local venv=".venv/$name"
    local marker="$venv/.wharf-requirements"
    if [[ -f "$marker" && "$(cat "$marker")" == "$requirements" && -x "$venv/bin/python" ]]; then
        return 0
    fi
    echo "test-python: creating $venv ($requirements)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    # shellcheck disable=SC2086 # the requirements are a space-separated list on purpose
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $requirements
    echo "$requirements" >"$marker"
}

# What the tests take from the network or a long build (runtime clients, the Rust function):
# prepared once by the set-up step, so that the tests only use it.
ensure_venv json "$(requirements_for json)"
scripts/test-fixtures

failed=()
for protocol in $WHARF_PROTOCOLS; do
    requirements="$(requirements_for "$protocol")"
    ensure_venv "$protocol" "$requirements"
    echo "test-python: running tests/python with WHARF_PROTOCOL=$protocol"
    # The query protocol is SQS's alone: the other services' suites run once, with the JSON venv.
    extra=()
    if [[ "$protocol" != json ]]; then
        extra=(--ignore=tests/python/lambda --ignore=tests/python/logs --ignore=tests/python/events)
    fi
    # Two workers (pytest-xdist): every test has its own server, port and data directory, and
    # most of a test's time is spent waiting on a server, so two run side by side on two cores.
    if ! WHARF_PROTOCOL="$protocol" ".venv/$protocol/bin/python" -m pytest tests/python -p no:cacheprovider -n "${WHARF_TEST_WORKERS:-2}" "${extra[@]}" "$@"; then
        failed+=("$protocol")
    fi
done

# The json run again with auth enforced: the same clients, every signature checked and every
# call authorized (functions with their roles' credentials).
if [[ " $WHARF_PROTOCOLS " == *" json "* && " $WHARF_AUTHS " == *" enforce "* ]]; then
    echo "test-python: running tests/python with WHARF_PROTOCOL=json WHARF_TEST_AUTH=enforce"
    own_auth=(test_iam.py test_sts.py test_auth_log.py test_cli.py test_raw_http.py lambda/test_roles.py)
    ignored=()
    for file in "${own_auth[@]}"; do ignored+=("--ignore=tests/python/$file"); done
    if ! WHARF_PROTOCOL=json WHARF_TEST_AUTH=enforce .venv/json/bin/python -m pytest tests/python -p no:cacheprovider -n "${WHARF_TEST_WORKERS:-2}" "${ignored[@]}" "$@"; then
        failed+=("json with auth enforced")
    fi
fi

if ((${#failed[@]})); then
    echo "test-python: FAILED for protocol(s): ${failed[*]}" >&2
    exit 1
fi
echo "test-python: all runs passed ($WHARF_PROTOCOLS; json with auth: $WHARF_AUTHS)"
