"""The outside contract as the tests know it: ONE definition of the JSON envelope and doctor's flow.

Spelled out here, not imported from gridctl.report, so that a rename in the code fails a test.
"""

from __future__ import annotations

ENVELOPE_KEYS = frozenset({"schema", "command", "ok", "exit_code", "diagnosis", "checks", "request_ids", "target",
                           "started_at", "duration_ms"})
CHECK_KEYS = frozenset({"id", "title", "status", "duration_ms", "findings", "data"})
FINDING_KEYS = frozenset({"code", "severity", "message", "fix"})
DIAGNOSIS_KEYS = frozenset({"code", "title", "message", "fix"})
# Added 2026-12-07 (issue 20), optional: how sure the diagnosis is, its candidates and the settling command
DIAGNOSIS_OPTIONAL_KEYS = frozenset({"certain", "candidates", "next"})
CANDIDATE_KEYS = frozenset({"code", "title"})
FLOW = ("config", "status", "network", "ping", "auth", "url", "model", "balance", "stream", "body")
