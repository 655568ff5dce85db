"""The chaos run (tests/chaos/run.py) as a test: nothing acknowledged is lost, nothing is doubled.

It runs the script in a process of its own, as CI or an engineer would, and reads the report it
writes. The script restarts the shared RabbitMQ once (briefly) and makes sure it runs again; if the
script has to be stopped, this test asks it to clean up (SIGTERM) and checks the broker afterwards.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from civicgrid import config
from civicgrid.harness import ROOT

from . import run as chaos

# mongomock: the gateway's kills, four freezes and a broker restart, about 100 s on two busy cores;
# a real MongoDB: every service killed and restarted three times, then all at once.
BUDGET = float(os.environ.get("CIVICGRID_CHAOS_BUDGET") or (420 if config.mongo_uri() else 170))


@pytest.mark.e2e
def test_nothing_acknowledged_is_lost_or_doubled(tmp_path):
    path = tmp_path / "report.json"
    began = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "tests.chaos.run", "--json", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=BUDGET)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)     # its finally blocks stop the platform and restart the broker
        try:
            output, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"the chaos run took more than {BUDGET:.0f}s:\n{output[-6000:]}")
    finally:
        chaos.ensure_broker(timeout=120)
    print(output)
    assert path.exists(), f"no report (exit {proc.returncode}):\n{output[-6000:]}"
    report = json.loads(path.read_text(encoding="utf-8"))
    summary = (f"sent {report['sent']}, acknowledged {report['acknowledged']}, lost {report['lost']}, "
               f"duplicated {report['duplicated']} in {time.time() - began:.0f}s\n{output[-6000:]}")
    assert report["sent"] > 0 and report["acknowledged"] == report["sent"], summary
    assert report["lost"] == 0, summary
    assert report["duplicated"] == 0, summary
    assert report["incomplete"] == [], summary
    assert [c["what"] for c in report["checks"] if not c["ok"]] == [], summary
    assert proc.returncode == 0, summary
