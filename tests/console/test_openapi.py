"""/api against its own OpenAPI document: generated requests, valid and invalid, never get a
5xx, and every response matches the documented status codes, content types and schemas.

Each generated case runs as a fresh signed-in owner acting in their own organisation, so
destructive operations (sign out, delete account) cannot starve the cases after them."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from gptapi.console.auth.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.support.console import sign_in
from tests.support.platform import Platform

EXAMPLES_PER_OPERATION = 15
# A schema-valid request may still be refused on its meaning: a range that ends before it
# starts, a model that does not exist, an amount outside the top-up limits. Those are 400/410;
# a 422 for schema-valid input stays a failure (the document and the validation disagree).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429"]
            }
        }
    }
)


def _operations(console: Platform) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{console.url}/api/openapi.json", config=CONFIG)
    operations = []
    for result in schema.include(path_regex=r"^/api/").get_all_operations():
        assert isinstance(result, Ok), f"invalid operation in the OpenAPI document: {result}"
        operations.append(result.ok())
    return operations


def _check(console: Platform, case: Any, mode: GenerationMode) -> None:
    member = sign_in(console)
    try:
        # Valid cases act in the member's own organisation, to reach past the 404 a random
        # id gets; invalid ones keep what was generated, which may be the invalid part.
        if mode is GenerationMode.POSITIVE and "org_id" in (case.path_parameters or {}):
            case.path_parameters["org_id"] = str(member.org_id)
        cookies = dict(member.client.http.cookies.items())
        case.call_and_validate(
            base_url=console.url,
            headers={CSRF_HEADER: cookies[CSRF_COOKIE]},
            cookies={SESSION_COOKIE: cookies[SESSION_COOKIE], CSRF_COOKIE: cookies[CSRF_COOKIE]},
        )
    finally:
        member.client.close()


# Every operation in one test: a few minutes on a busy machine, past the suite's default limit.
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_api_conforms_to_its_schema(console: Platform, mode: GenerationMode) -> None:
    operations = _operations(console)
    assert operations, "the OpenAPI document lists no /api operations"
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            _check(console, case, mode)

        try:
            check()
        except Unsatisfiable:
            # Only for negative generation of an operation that takes no input at all.
            if mode is not GenerationMode.NEGATIVE:
                failures.append(f"{operation.label}: no request could be generated")
        except (Exception, FailureGroup) as exc:  # check every operation, then report all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
