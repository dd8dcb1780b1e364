"""Structured logs: JSON lines carrying the request id and only whitelisted fields (no personal data)."""

from __future__ import annotations

import json
import logging

from app.observability import JsonFormatter, request_id


def test_json_log_lines_carry_the_request_id_and_drop_unlisted_fields() -> None:
    token = request_id.set("abc123")
    try:
        record = logging.LogRecord("profile_ai.agents", logging.INFO, __file__, 1, "agent tool call", None, None)
        record.__dict__.update({"tool": "search_customers", "ms": 12.5, "email": "a@b.io", "query": "secret"})
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "abc123" and line["tool"] == "search_customers" and line["ms"] == 12.5
    assert "email" not in line and "query" not in line
    assert line["level"] == "INFO" and line["msg"] == "agent tool call"
