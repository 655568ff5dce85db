"""The front door: health, the API description, and a clear word when the broker is missing."""
import subprocess
import sys

import requests

from civicgrid.harness import ROOT, free_port


def test_health_and_openapi(platform):
    assert requests.get(platform.url + "/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(platform.url + "/readyz", timeout=5).status_code == 200
    spec = requests.get(platform.url + "/api/v1/openapi.json", timeout=5).json()
    assert "/api/v1/petitions/{petition_id}/dispatch" in spec["paths"]
    assert requests.get(platform.url + "/api/v1/docs", timeout=5).status_code == 200


def test_launcher_says_in_one_line_when_rabbitmq_is_down():
    env = {"AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "civicgrid.launcher"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "rabbitmq-server -detached" in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
