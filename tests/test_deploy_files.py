"""Offline checks of the deployment files: docker-compose.yml, the Dockerfiles,
.dockerignore and the kustomize tree under deploy/k8s, plus the services' health probe.

No Docker engine or cluster is needed. The real tools run: check-jsonschema validates
the compose file against the Compose Specification schema, kubectl (kustomize) renders
every overlay and kubernetes-validate --strict checks the output against the Kubernetes
OpenAPI schemas. All three come from requirements-deploy.txt (make install); a missing
tool fails these tests, it never skips them.
"""
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from civicgrid import probe
from services.grid.service import GridService

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
BASE_DOCKERFILE = ROOT / "deploy" / "docker" / "base.Dockerfile"
BIN = Path(sys.executable).parent          # the venv's scripts: kubectl, kubernetes-validate, ...

NAMEKO_SERVICES = ("grid", "petitions", "points", "notify")
PLATFORM = NAMEKO_SERVICES + ("gateway",)
INFRA = ("rabbitmq", "mongo")
DOCKERFILES = {name: f"services/{name}/Dockerfile" for name in NAMEKO_SERVICES}
DOCKERFILES["gateway"] = "gateway/Dockerfile"
OVERLAYS = ("base", "overlays/dev", "overlays/production")
KUBERNETES_VERSION = "1.30.0"              # the oldest Kubernetes we promise to run on
# The keys of the Secrets an operator creates (deploy/k8s/base/kustomization.yaml says how).
SECRET_KEYS = {
    "civicgrid-secrets": {"CIVICGRID_JWT_SECRET", "CIVICGRID_ADMIN_USER", "CIVICGRID_ADMIN_PASSWORD",
                          "AMQP_USER", "AMQP_PASSWORD", "MONGO_USER", "MONGO_PASSWORD"},
    "civicgrid-infra-secrets": {"RABBITMQ_ERLANG_COOKIE", "MONGO_KEYFILE"},
}


def tool(name):
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{name} is missing from {BIN}: run `make install` (requirements-deploy.txt pins it)")
    return str(path)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)


# --- helpers -----------------------------------------------------------------

def load_compose():
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_instructions(path):
    """[(INSTRUCTION, arguments)] with comments dropped and continuations joined."""
    instructions, pending = [], ""
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def args_of(path, keyword):
    return [a for k, a in dockerfile_instructions(path) if k == keyword]


def as_argv(value):
    """A Dockerfile CMD (exec or shell form) or a compose command, as an argv list."""
    if isinstance(value, list):
        return [str(v) for v in value]
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return shlex.split(value)


def started_module(argv):
    """The repo file the command imports, and any config file it names."""
    files = []
    if "nameko" in argv:
        assert argv[argv.index("nameko") + 1] == "run", argv
        if "--config" in argv:
            files.append(argv[argv.index("--config") + 1])
        module = argv[-1]
    elif "gunicorn" in argv:
        module = argv[-1].split(":", 1)[0]
    else:
        raise AssertionError(f"unknown command {argv}")
    files.insert(0, module.replace(".", "/") + ".py")
    return files


def non_root(user):
    return user.split(":")[0] not in ("root", "0")


# --- docker-compose.yml ------------------------------------------------------

def test_compose_validates_against_the_compose_spec():
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_every_service_and_no_version_key():
    compose = load_compose()
    assert "version" not in compose, "compose spec files carry no version key"
    assert set(PLATFORM + INFRA + ("base",)) <= set(compose["services"])


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_platform_service_waits_for_healthy_infra(name):
    service = load_compose()["services"][name]
    depends = service["depends_on"]
    for infra in INFRA:
        assert depends[infra]["condition"] == "service_healthy", (name, infra)
    assert service["restart"] == "unless-stopped"
    env = service["environment"]
    assert env["AMQP_URI"] == "amqp://guest:guest@rabbitmq:5672/"
    assert env["MONGO_URI"] == "mongodb://mongo:27017/", "the real MongoDB, never mongomock"
    for secret in ("CIVICGRID_JWT_SECRET", "CIVICGRID_ADMIN_USER", "CIVICGRID_ADMIN_PASSWORD"):
        assert env[secret].startswith("${" + secret + ":-"), (name, secret)


def test_compose_infra_has_healthchecks_and_named_volumes():
    compose = load_compose()
    services = compose["services"]
    rabbit, mongo = services["rabbitmq"], services["mongo"]
    assert rabbit["image"].endswith("-management")
    assert rabbit["hostname"], "the node name (and so its data directory) must not change on restart"
    assert rabbit["healthcheck"]["test"][1:] == ["rabbitmq-diagnostics", "-q", "ping"]
    assert mongo["image"].startswith("mongo:")
    assert "mongosh" in mongo["healthcheck"]["test"]
    assert "ping" in " ".join(mongo["healthcheck"]["test"])
    mounts = {"rabbitmq": "/var/lib/rabbitmq", "mongo": "/data/db"}
    for name, target in mounts.items():
        volumes = dict(m.split(":", 1) for m in services[name]["volumes"])
        source = {v: k for k, v in volumes.items()}[target]
        assert source in compose["volumes"], f"{name}: data in a named volume survives a restart"


def test_compose_gateway_publishes_8000_and_waits_for_services():
    gateway = load_compose()["services"]["gateway"]
    assert "8000:8000" in [str(p) for p in gateway["ports"]]
    assert set(NAMEKO_SERVICES) <= set(gateway["depends_on"])


def test_compose_base_service_builds_the_shared_stage():
    base = load_compose()["services"]["base"]
    assert base["build"]["dockerfile"] == "deploy/docker/base.Dockerfile"
    assert (ROOT / base["build"]["context"]).resolve() == ROOT
    assert base["restart"] == "no"


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_builds_from_its_dockerfile_on_the_base_stage(name):
    build = load_compose()["services"][name]["build"]
    context = ROOT / build["context"]
    assert context.resolve() == ROOT
    assert build["dockerfile"] == DOCKERFILES[name]
    assert (context / build["dockerfile"]).is_file()
    assert build["additional_contexts"] == {"civicgrid-base": "service:base"}


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_command_names_existing_module(name):
    """The command (compose override, else the Dockerfile CMD) imports a repo module."""
    service = load_compose()["services"][name]
    argv = as_argv(service["command"]) if "command" in service else as_argv(
        args_of(ROOT / DOCKERFILES[name], "CMD")[-1])
    expected = "gateway/app.py" if name == "gateway" else f"services/{name}/service.py"
    files = started_module(argv)
    assert files[0] == expected
    missing = [f for f in files if not (ROOT / f).is_file()]
    assert not missing, f"{name}: command refers to missing {missing}"


# --- Dockerfiles and .dockerignore -------------------------------------------

def test_base_dockerfile_is_slim_python_pinned_and_unprivileged():
    froms = args_of(BASE_DOCKERFILE, "FROM")
    assert froms == ["python:3.11-slim"]
    copies = args_of(BASE_DOCKERFILE, "COPY")
    assert copies == ["requirements.txt ."], "only the pins: code changes keep the dependency layer"
    assert "pip install -r requirements.txt" in " ".join(args_of(BASE_DOCKERFILE, "RUN"))
    users = args_of(BASE_DOCKERFILE, "USER")
    assert users and non_root(users[-1])


@pytest.mark.parametrize("name", PLATFORM)
def test_dockerfile_uses_base_stage_user_healthcheck_and_cmd(name):
    path = ROOT / DOCKERFILES[name]
    assert args_of(path, "FROM") == ["civicgrid-base"]
    assert not args_of(path, "RUN"), "dependencies come from the base stage only"
    users = args_of(path, "USER")
    assert users and non_root(users[-1])
    healthchecks = args_of(path, "HEALTHCHECK")
    assert len(healthchecks) == 1 and "CMD" in healthchecks[0].split()
    check = as_argv(healthchecks[0].split(" CMD ", 1)[1])
    argv = as_argv(args_of(path, "CMD")[-1])
    if name == "gateway":
        assert "http://127.0.0.1:8000/healthz" in " ".join(check)
        assert argv[:3] == ["python", "-m", "gunicorn"]
        assert "gthread" in argv and "0.0.0.0:8000" in argv
    else:
        assert check == ["python", "-m", "civicgrid.probe", name, "--require-connection"]
        assert argv == ["python", "-m", "nameko", "run", "--config",
                        f"services/{name}/config.yml", f"services.{name}.service"]


def dockerignored(relative):
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    parts = Path(relative).parts
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if pattern.startswith("**/") and any(Path(p).match(bare) for p in parts):
            return True
        if relative == pattern or relative.startswith(pattern + "/"):
            return True
        if Path(relative).match(bare):
            return True
    return False


@pytest.mark.parametrize("name", PLATFORM)
def test_image_contents_are_enough_to_start(name, tmp_path):
    """What the Dockerfile copies (less .dockerignore) imports the entrypoint module on its own."""
    for copy in args_of(ROOT / DOCKERFILES[name], "COPY"):
        source = copy.split()[0].rstrip("/")
        for file in [ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*"):
            relative = file.relative_to(ROOT).as_posix()
            if file.is_file() and not dockerignored(relative):
                (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(file, tmp_path / relative)
    module = "gateway.app" if name == "gateway" else f"services.{name}.service"
    result = run([sys.executable, "-c", f"import {module}, civicgrid.probe"], cwd=tmp_path,
                 env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "tests").exists() and not list(tmp_path.rglob("tests"))


def test_dockerignore_excludes_local_state():
    for required in (".venv", ".git", ".env", "tests", "services/grid/tests", "bench",
                     "civicgrid/__pycache__/x.pyc"):
        assert dockerignored(required), required
    for kept in ("requirements.txt", "civicgrid/probe.py", "services/grid/service.py", "gateway/app.py"):
        assert not dockerignored(kept), kept


# --- deploy/k8s: rendered by kustomize, validated by kubernetes-validate ------

RENDERED = {}


def rendered(target):
    if target not in RENDERED:
        result = run([tool("kubectl"), "kustomize", str(K8S / target)])
        assert result.returncode == 0, result.stderr
        RENDERED[target] = (result.stdout, [d for d in yaml.safe_load_all(result.stdout) if d])
    return RENDERED[target]


def docs_of(target, kind=None):
    return [d for d in rendered(target)[1] if kind is None or d["kind"] == kind]


def named(target, kind, name):
    (doc,) = [d for d in docs_of(target, kind) if d["metadata"]["name"] == name]
    return doc


def config_data(target):
    return named(target, "ConfigMap", "civicgrid-config")["data"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_kubernetes_validate_strict_accepts_the_rendering(target, tmp_path):
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered(target)[0])
    result = run([tool("kubernetes-validate"), "--strict", "--quiet",
                  "-k", KUBERNETES_VERSION, str(manifest)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_k8s_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path):
    """The validator really is strict (a typo in a probe is an error, not ignored)."""
    doc = json.loads(json.dumps(named("base", "Deployment", "gateway")))
    doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    result = run([tool("kubernetes-validate"), "--strict", "--quiet",
                  "-k", KUBERNETES_VERSION, str(manifest)])
    assert result.returncode != 0 and "httpGett" in result.stdout + result.stderr


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_namespace_and_no_committed_secrets(target):
    docs = docs_of(target)
    assert ("Namespace", "civicgrid") in {(d["kind"], d["metadata"]["name"]) for d in docs}
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "civicgrid", doc["metadata"]["name"]
    assert not docs_of(target, "Secret"), "secrets are created in the cluster, never committed"


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_secret_references_are_the_documented_keys(target):
    """Every secretKeyRef names a documented key, and the base kustomization says how to create it."""
    howto = (K8S / "base" / "kustomization.yaml").read_text()
    for keys in SECRET_KEYS.values():
        for key in keys:
            assert f"{key}=" in howto, key
    for doc in docs_of(target):
        for ref in re.findall(r"secretKeyRef': \{'key': '(\w+)', 'name': '([\w-]+)'", str(doc)):
            key, secret = ref
            assert key in SECRET_KEYS[secret], (doc["metadata"]["name"], secret, key)


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_deployment_per_platform_process(target):
    assert {d["metadata"]["name"] for d in docs_of(target, "Deployment")} == set(PLATFORM)


def expand(value, env):
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("name", PLATFORM)
def test_k8s_deployment_probes_resources_and_connection_uris(target, name):
    deployment = named(target, "Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind
    sources = {ref["name"] for source in container["envFrom"] for ref in source.values()}
    assert sources == {"civicgrid-config", "civicgrid-secrets"}
    # AMQP_URI and MONGO_URI are built from the ConfigMap's hosts and the Secret's users
    env = {e["name"]: e["value"] for e in container["env"]}
    known = dict(config_data(target))
    known.update({key: f"<{key}>" for key in SECRET_KEYS["civicgrid-secrets"]})
    amqp, mongo = expand(env["AMQP_URI"], known), expand(env["MONGO_URI"], known)
    assert "$(" not in amqp + mongo, (amqp, mongo)
    assert amqp == "amqp://<AMQP_USER>:<AMQP_PASSWORD>@rabbitmq:5672/"
    uri = urlsplit(mongo)
    assert uri.scheme == "mongodb" and uri.username == "<MONGO_USER>"
    assert parse_qs(uri.query) == {"replicaSet": ["rs0"], "w": ["majority"], "authSource": ["admin"]}
    if name == "gateway":
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert "gthread" in container["command"]
    else:
        expected = ["python", "-m", "civicgrid.probe", name, "--require-connection"]
        assert container["readinessProbe"]["exec"]["command"] == expected
        assert container["livenessProbe"]["exec"]["command"] == expected
        for probe_spec in (container["readinessProbe"], container["livenessProbe"]):
            assert probe_spec["timeoutSeconds"] > 3, "longer than the probe's own 3 s deadline"


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("name", PLATFORM)
def test_k8s_every_pod_is_scraped_where_it_serves_metrics(target, name):
    from civicgrid.launcher import METRICS_PORTS
    template = named(target, "Deployment", name)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    (container,) = template["spec"]["containers"]
    ports = {p["containerPort"] for p in container["ports"]}
    assert int(annotations["prometheus.io/port"]) in ports
    if name != "gateway":
        env = {e["name"]: e["value"] for e in container["env"]}
        assert int(env["CIVICGRID_METRICS_PORT"]) == int(annotations["prometheus.io/port"]) == METRICS_PORTS[name]
    else:
        assert "python:gateway.gunicorn_conf" in container["command"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_autoscalers_for_gateway_and_petitions(target):
    hpas = {d["metadata"]["name"]: d for d in docs_of(target, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"gateway", "petitions"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # the autoscaler owns the replica count: an apply must not reset it
        assert "replicas" not in named(target, "Deployment", name)["spec"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_disruption_budget_for_every_workload(target):
    workloads = docs_of(target, "Deployment") + docs_of(target, "StatefulSet")
    budgets = docs_of(target, "PodDisruptionBudget")
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets
                    if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, workload["metadata"]["name"]
        assert matching[0]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_gateway_service_and_ingress(target):
    service = named(target, "Service", "gateway")
    gateway = named(target, "Deployment", "gateway")
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    port_names = {p["name"] for p in gateway["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    ingress = named(target, "Ingress", "gateway")
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}]
    if target == "overlays/production":
        assert ingress["spec"]["tls"][0]["secretName"]
        assert ingress["spec"]["rules"][0]["host"] in ingress["spec"]["tls"][0]["hosts"]


def stateful(target, name):
    sts = named(target, "StatefulSet", name)
    headless = named(target, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"]
    return sts, sts["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_rabbitmq_cluster_with_quorum_queues(target):
    sts, container = stateful(target, "rabbitmq")
    assert sts["spec"]["replicas"] == (1 if target == "overlays/dev" else 3)
    env = {e["name"]: e for e in container["env"]}
    assert env["RABBITMQ_NODENAME"]["value"] == (
        f"rabbit@$(MY_POD_NAME).{sts['spec']['serviceName']}.$(MY_POD_NAMESPACE)")
    config = named(target, "ConfigMap", "rabbitmq-config")["data"]
    settings = dict(line.split(" = ", 1) for line in config["civicgrid.conf"].splitlines()
                    if line and not line.startswith("#"))
    assert settings["cluster_formation.peer_discovery_backend"] == "k8s"
    assert settings["default_queue_type"] == "quorum"
    assert settings["cluster_partition_handling"] == "pause_minority"
    assert "rabbitmq_peer_discovery_k8s" in config["enabled_plugins"]
    mounts = {m["mountPath"]: m.get("subPath") for m in container["volumeMounts"]}
    assert mounts["/etc/rabbitmq/enabled_plugins"] == "enabled_plugins"
    assert mounts["/var/lib/rabbitmq"] is None and sts["spec"]["volumeClaimTemplates"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_k8s_mongo_replica_set_and_its_initiation(target):
    sts, container = stateful(target, "mongo")
    members = sts["spec"]["replicas"]
    assert members == (1 if target == "overlays/dev" else 3)
    assert "--replSet rs0" in container["command"][-1] and "--keyFile" in container["command"][-1]
    hosts = config_data(target)["MONGO_HOSTS"].split(",")
    assert hosts == [f"mongo-{i}.{sts['spec']['serviceName']}:27017" for i in range(members)]
    job = named(target, "Job", "mongo-init-replica-set")
    (init,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["MONGO_MEMBERS"] == str(members)
    script = init["command"][-1]
    assert "rs.initiate" in script and "NotYetInitialized" in script


# --- the probe the images and the k8s exec probes run ------------------------

def test_holds_connection_reads_established_sockets(tmp_path):
    table = tmp_path / "tcp"
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    listening = "   0: 00000000:1628 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999 0 1\n"
    established = "   1: 0100007F:9C40 0100007F:1628 01 00000000:00000000 00:00000000 00000000   999 0 2\n"
    table.write_text(header + listening)
    assert not probe.holds_connection(5672, tables=[str(table)])
    table.write_text(header + listening + established)
    assert probe.holds_connection(5672, tables=[str(table)])
    assert not probe.holds_connection(5673, tables=[str(table)])
    assert probe.broker_port("amqp://u:p@rabbitmq/") == 5672
    assert probe.broker_port("amqps://u:p@rabbitmq:5999/") == 5999


def run_probe(service, amqp_uri, *extra):
    return run([sys.executable, "-m", "civicgrid.probe", service, *extra], cwd=ROOT,
               env={"PATH": "/usr/bin:/bin", "AMQP_URI": amqp_uri, "PYTHONPATH": str(ROOT)})


def test_probe_answers_for_a_running_service_over_the_broker(container_factory, service_config, rabbit_config,
                                                             rabbit_manager):
    container = container_factory(GridService, service_config)
    container.start()
    result = run_probe("grid", rabbit_config["AMQP_URI"], "--require-connection")
    assert result.returncode == 0, result.stderr
    assert "ok 'pong'" in result.stdout
    # its reply queue was exclusive: gone with the probe, nothing lingers on the broker
    queues = [q["name"] for q in rabbit_manager.get_queues(rabbit_config["vhost"])]
    assert "rpc-grid" in queues
    assert not [name for name in queues if name.startswith("rpc.reply-probe-")]


def test_probe_fails_within_its_deadline_when_nobody_answers(rabbit_config):
    result = run_probe("nosuchservice", rabbit_config["AMQP_URI"], "--timeout", "1")
    assert result.returncode == 1
    assert "nosuchservice did not answer ping within 1s" in result.stderr


def test_probe_fails_when_the_broker_is_unreachable():
    result = run_probe("grid", "amqp://guest:guest@127.0.0.1:1/", "--timeout", "1")
    assert result.returncode == 1
    assert "FAIL" in result.stderr
