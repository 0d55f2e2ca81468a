"""Property-based fuzzing of API v1 from its own OpenAPI document (schemathesis), as two callers who matter.

Every operation of the live document (/api/v1/openapi.json) gets its documented examples, schemathesis's
boundary values (the coverage phase) and a bounded number of generated requests, valid and invalid, on a
seeded Kepulauan Seribu inside the test's rolled-back transaction. Every check schemathesis has runs on every
answer: not a server error, a documented status, content type, headers and body (not_a_server_error,
status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance),
a request the document allows is not refused as malformed (positive_data_acceptance: no 400) and one it
forbids is not accepted (negative_data_rejection), a 405 carries Allow, and a call without the token gets 401
(ignored_auth). Derandomized: the same requests every run; run with -rP to see how many.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from flask import request_finished
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from sqlalchemy import select

from tests.factories import UserFactory
from webapp.auth.models import Role
from webapp.auth.services import issue_token
from webapp.geo.models import Site

# Each role's run sends about 1,800 requests; far fewer means the document lost operations or generation broke.
MIN_REQUESTS = 500
# Statuses that answer a request the document allows: 422 is a refused verdict (a scan of an unknown box),
# 403/404/409 are about the data. A 400 means the server enforces a rule the document does not state.
ACCEPTED_STATUSES = ["2xx", "403", "404", "409", "422"]


def _in_window(moment: object, year: str) -> object:
    """The same RFC 3339 text in another year (2024 is a leap year, so every generated date stays valid)."""
    return year + moment[4:] if isinstance(moment, str) and moment[:4].isdigit() else moment


def keep_to_unstated_rules(context, case):
    """Rules JSON Schema cannot state (the document says them in words): a scan's time lies between
    2020-01-01 and the server's clock plus a day; an EPCIS export's `from` comes before its `to` (now); a
    consistency proof's `from` is not larger than its `to`."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    if case.operation.path in ("/scans", "/scans/batch") and isinstance(case.body, dict):
        scans = case.body.get("scans") if case.operation.path == "/scans/batch" else [case.body]
        for scan in scans if isinstance(scans, list) else []:
            if isinstance(scan, dict) and "scanned_at" in scan:
                scan["scanned_at"] = _in_window(scan["scanned_at"], "2024")
    if case.operation.path == "/ledger/proof/consistency" and case.query:
        first, second = str(case.query.get("from", "")), str(case.query.get("to", ""))
        if first.isdigit() and second.isdigit() and int(first) > int(second):  # from <= to, as documented
            case.query["from"], case.query["to"] = case.query["to"], case.query["from"]
    if case.operation.path == "/export/epcis" and case.query:
        for name, year in (("from", "2021"), ("to", "2023")):
            if name in case.query:
                case.query[name] = _in_window(case.query[name], year)
    return case


@pytest.fixture(params=[Role.SUPERVISOR, Role.WAREHOUSE], ids=["supervisor-national", "warehouse-kpu-3101"])
def caller_token(request, seeded) -> str:
    """A bearer token of a national supervisor, or of a warehouse account scoped to the kab/kota warehouse."""
    if request.param is Role.SUPERVISOR:
        user = UserFactory(role=Role.SUPERVISOR.value)
    else:
        user = UserFactory(
            role=Role.WAREHOUSE.value, scope_site=seeded.scalar(select(Site).where(Site.code == "KPU-3101"))
        )
    token = issue_token(seeded, user, label="fuzz")
    seeded.commit()
    return token


@pytest.fixture
def api(app, caller_token, request):
    """The live document, as schemathesis loads it from the app; counts every request the app answers."""
    # schemathesis 4.32 renames the pytest node through `_nodeid`, which pytest 9.2 no longer has.
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"bearer": {"bearer": caller_token}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_STATUSES}},
            # Uncompressed: the WSGI transport asks for gzip but does not decode it (compression is tested in
            # tests/core/test_compression.py).
            "headers": {"Accept-Encoding": "identity"},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    schema.hook("map_case")(keep_to_unstated_rules)
    answered = []

    def count(sender, response, **extra):
        answered.append(response.status_code)

    request_finished.connect(count, app)
    yield schema
    request_finished.disconnect(count, app)
    print(f"{len(answered)} requests fuzzed as {request.node.callspec.id}")
    request.node.user_properties.append(("requests_fuzzed", len(answered)))
    assert len(answered) >= MIN_REQUESTS, f"only {len(answered)} requests fuzzed: the fuzzer is not fuzzing"


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@settings(
    # CI fuzzes with fewer examples (.ci/run: 15 on SQLite, 10 on PostgreSQL): the contract is the same, the engine's own
    # limits (integer ranges, text lengths) are met in fewer tries, and the whole run stays under 30 minutes.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    database=None,  # nothing written under .hypothesis/
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_every_operation_answers_as_documented(case, app):
    """Whatever the request, the answer is one the document describes, and never a server error."""
    response = case.call(app=app)
    case.validate_response(response)
