"""Schemathesis against the app's own /openapi.json: no 5xx, every response as the schema states it.

Bounded: a few dozen generated requests per operation, in-process over ASGI, the real assistant behind them.
The schema states the limits (question length, history size), so generated values keep to them, and every
status answered must be one the schema documents.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import make_settings
from ui.server import create_app


@pytest.fixture(scope="module")
def api_schema(bot, tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("fuzz-home")), assistant=bot)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_keeps_to_its_schema(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/ask", "/api/ask/stream", "/api/feedback"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=25, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        def keeps_to_schema(case) -> None:
            # A schema-valid question may still be refused 400 for what no schema states (invisible formatting
            # characters, no words at all): every other check runs, no 5xx and every response as documented.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        keeps_to_schema()
