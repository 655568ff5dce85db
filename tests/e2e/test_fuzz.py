"""schemathesis over the whole OpenAPI document: no 5xx, no answer that breaks its own schema.

Bounded so CI stays quick: a few examples per operation, a fixed seed (the same cases each run,
so a failure reproduces), and a time budget. Run as a district administrator (who reaches the
most endpoints) and as a resident (who is refused most of them).
"""
import os
import subprocess
import sys

import pytest

ST = os.path.join(os.path.dirname(sys.executable), "st")


@pytest.mark.parametrize("who, examples", [("hb-admin", 5), ("huxingyou", 2)])
def test_no_server_errors_and_every_answer_matches_its_schema(platform, users, tmp_path, who, examples):
    run = subprocess.run(
        [ST, "run", f"{platform.url}/api/v1/openapi.json", "-H", f"Authorization: Bearer {users[who].token}",
         "--checks", "not_a_server_error,response_schema_conformance", "-n", str(examples), "--seed", "20261122",
         "--workers", "2", "--request-timeout", "30", "--max-time", "240", "--no-shrink", "--warnings", "off",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    summary = run.stdout[-4000:]
    print(summary)
    assert run.returncode == 0, summary
    assert "No issues found" in run.stdout, summary
