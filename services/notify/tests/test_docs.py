"""docs/notifications.md against the code: the rules table row by row, and the receivers' snippet
against real signatures."""
import os
import re
import time

import pytest

from civicgrid.harness import ROOT
from services.notify import preferences, rules, signing

with open(os.path.join(ROOT, "docs", "notifications.md"), encoding="utf-8") as f:
    DOC = f.read()


def test_every_rule_is_a_row_of_the_documented_table():
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    for rule in rules.RULES:
        critical = " **critical**" if rule.category in preferences.CRITICAL else ""
        wanted = (f"| `{rule.event}` | {rule.when} | `{rule.audience}` |", f"| `{rule.category}`{critical} |",
                  f"| {rule.practice} |")
        assert [r for r in rows if all(w in r for w in wanted)], f"no documented row for {rule}"
    documented = [r for r in rows if re.match(r"\| `[a-z_]+` \| [a-z]", r) and "| `" in r[3:]]
    assert len([r for r in documented if r.count("|") == 7]) == len(rules.RULES)


@pytest.fixture
def snippet():
    code = re.search(r"In Python, with the standard library only:\n\n```python\n(.*?)```", DOC, re.S).group(1)
    namespace = {}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)
    return namespace


def test_the_receivers_snippet_verifies_what_the_platform_signs(snippet):
    body = '{"attempt":1,"delivery_id":"d1","event":{"type":"petition_dispatched"}}'.encode()
    now = time.time()
    headers = signing.headers("s3cret", body, "d1", "petition_dispatched", timestamp=now)
    assert snippet["verify"]("s3cret", headers, body, now=now + 2)["delivery_id"] == "d1"
    for secret, sent, raw, problem in (
            ("s3cret", headers, body, "replayed"),
            ("other", dict(headers, **{signing.SIGNATURE: "v1=00"}), body, "does not match"),
            ("s3cret", signing.headers("s3cret", body + b" ", "d2", "x", timestamp=now), body, "does not match"),
            ("s3cret", signing.headers("s3cret", body, "d3", "x", timestamp=now - 600), body, "too old"),
            ("s3cret", {}, body, "unsigned")):
        with pytest.raises(snippet["Rejected"], match=problem):
            snippet["verify"](secret, sent, raw, now=now + 2)
