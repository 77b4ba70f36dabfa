#!/usr/bin/env python3
"""Structural checks of deploy/ that no off-the-shelf tool makes; deploy/check.sh runs them.

  check_deploy.py manifests               Kubernetes manifests agree with each other and the config
                                          (kubernetes/: one daemon on SQLite; kubernetes-postgres/:
                                          several on PostgreSQL)
  check_deploy.py dashboard RULES_OUT     Grafana JSON is well-formed; its queries are written to
                                          RULES_OUT as recording rules for `promtool check rules`
  check_deploy.py names SCRAPE            every metric the alerts and dashboard use is in SCRAPE
  check_deploy.py postgres-argv BIN PASSWORD_FILE
                                          prints, one JSON object a line, the command lines the
                                          PostgreSQL systemd unit and Deployment run (placeholders
                                          filled in for this machine, ports 0), for check.sh to start

Exits 1 with one line per problem.
"""
import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
problems = []


def problem(message):
    problems.append(message)


def load(folder):
    docs = []
    for path in sorted((HERE / folder).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    problem(f"{path.name}: a document without {key}")
            docs.append(doc)
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind"), []).append(doc)
    return by_kind


def manifests():
    by_kind = load("kubernetes")
    config_map = next(iter(by_kind.get("ConfigMap", [])), None)
    statefulset = next(iter(by_kind.get("StatefulSet", [])), None)
    if not config_map or not statefulset:
        problem("kubernetes/: need a ConfigMap and a StatefulSet")
        return
    config = json.loads(config_map["data"]["breakerd.json"])
    spec = statefulset["spec"]
    if spec.get("replicas") != 1:
        problem("StatefulSet: breakerd must run as exactly one replica")
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    if spec["selector"]["matchLabels"].items() - labels.items():
        problem("StatefulSet: selector does not match the pod labels")
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    if ports.get("protocol") != config["port"] or ports.get("http") != config["http_port"]:
        problem(f"StatefulSet ports {ports} differ from the config's port/http_port")
    if config.get("http_host") != "0.0.0.0" or config.get("host") != "0.0.0.0":
        problem("ConfigMap: both listeners must bind 0.0.0.0 in a pod")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") not in ("http", config["http_port"]):
            problem(f"StatefulSet: {probe} must GET {path} on the http port")
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    db_dir = str(Path(config["db"]).parent)
    if not any(mounts.get(claim) == db_dir for claim in claims):
        problem(f"StatefulSet: the database folder {db_dir} is not on a PersistentVolumeClaim")
    args = container.get("args", [])
    if "--config" not in args or mounts.get("config") != str(Path(args[args.index("--config") + 1]).parent):
        problem("StatefulSet: --config must point into the mounted ConfigMap")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace * 1000 <= config.get("shutdown_timeout_ms", 10000):
        problem("StatefulSet: terminationGracePeriodSeconds must exceed shutdown_timeout_ms")

    services = by_kind.get("Service", [])
    if not any(s["spec"].get("clusterIP") == "None" and s["metadata"]["name"] == spec["serviceName"] for s in services):
        problem(f"no headless Service named {spec['serviceName']} for the StatefulSet")
    for service in services:
        if service["spec"]["selector"].items() - labels.items():
            problem(f"Service {service['metadata']['name']}: selector matches no pod")
        for port in service["spec"]["ports"]:
            if port["targetPort"] not in ports:
                problem(f"Service {service['metadata']['name']}: targetPort {port['targetPort']} is not a container port")
    scraped = any(s["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true" for s in services)
    for monitor in by_kind.get("ServiceMonitor", []):
        scraped = True
        if monitor["spec"]["selector"]["matchLabels"].items() - services[0]["metadata"]["labels"].items():
            problem("ServiceMonitor: selector matches no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint.get("port") != "http" or endpoint.get("path", "/metrics") != "/metrics":
                problem("ServiceMonitor: must scrape /metrics on the http port")
    if not scraped:
        problem("kubernetes/: nothing tells Prometheus to scrape breakerd")

    postgres_manifests()


def postgres_manifests():
    """kubernetes-postgres/: standbys must stay out of the Service, the URL out of the manifest,
    and a voluntary disruption must leave a standby to take over."""
    by_kind = load("kubernetes-postgres")
    deployment = next(iter(by_kind.get("Deployment", [])), None)
    if not deployment:
        return problem("kubernetes-postgres/: need a Deployment")
    spec = deployment["spec"]
    if spec.get("replicas", 1) < 2:
        problem("kubernetes-postgres Deployment: a leader needs standbys (replicas >= 2)")
    labels = spec["template"]["metadata"]["labels"]
    container = spec["template"]["spec"]["containers"][0]
    args, env = container.get("args", []), {e["name"]: e for e in container.get("env", [])}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        problem("kubernetes-postgres Deployment: readiness must be /readyz (200 only on the leader)")
    url = env.get("BREAKERD_POSTGRES_URL", {}).get("valueFrom", {}).get("secretKeyRef")
    if not url or "--postgres-url" in args:
        problem("kubernetes-postgres Deployment: the PostgreSQL URL must come from a Secret (BREAKERD_POSTGRES_URL)")
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    if url and url["key"] not in secrets.get(url["name"], {}).get("stringData", {}):
        problem(f"kubernetes-postgres: no Secret {url['name']} with key {url['key']}")
    if "--advertise" not in args or not args[args.index("--advertise") + 1].startswith("$(POD_IP):"):
        problem("kubernetes-postgres Deployment: --advertise must be the pod's IP ($(POD_IP):PORT)")
    elif args[args.index("--advertise") + 1] != f"$(POD_IP):{ports.get('protocol')}":
        problem("kubernetes-postgres Deployment: --advertise must name the protocol port")
    if env.get("POD_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "status.podIP":
        problem("kubernetes-postgres Deployment: POD_IP must come from status.podIP")
    budgets = by_kind.get("PodDisruptionBudget", [])
    if not budgets or any(b["spec"]["selector"]["matchLabels"].items() - labels.items() for b in budgets):
        problem("kubernetes-postgres: a PodDisruptionBudget must select the breakerd pods")
    elif any(b["spec"].get("maxUnavailable", 0) >= spec.get("replicas", 1) for b in budgets):
        problem("kubernetes-postgres PodDisruptionBudget: a drain must leave a standby")
    for service in by_kind.get("Service", []):
        if service["spec"]["selector"].items() - labels.items():
            problem(f"kubernetes-postgres Service {service['metadata']['name']}: selector matches no pod")
        for port in service["spec"]["ports"]:
            if port["targetPort"] not in ports:
                problem(f"kubernetes-postgres Service {service['metadata']['name']}: targetPort {port['targetPort']} is not a container port")
    if not any(s["metadata"]["name"] == "breakerd" and not s["spec"].get("publishNotReadyAddresses")
               for s in by_kind.get("Service", [])):
        problem("kubernetes-postgres: the `breakerd` Service must route to ready pods only (the leader)")


def dashboard_queries():
    dashboard = json.loads((HERE / "grafana" / "breakerd-dashboard.json").read_text())
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in dashboard:
            problem(f"dashboard: missing {key}")
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        problem("dashboard: panel ids are not unique")
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    queries = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        for field in ("title", "type", "datasource", "gridPos", "targets"):
            if field not in panel:
                problem(f"dashboard panel {panel.get('id')}: missing {field}")
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            for used in re.findall(r"\$(\w+)", expr):
                if used not in variables and not used.startswith("__"):
                    problem(f"dashboard panel '{panel['title']}': unknown variable ${used}")
            queries.append((panel["title"], expr))
    for title in ("Breaker state", "Call rate by result", "Rejected calls by breaker", "Transitions"):
        if title not in {p["title"] for p in dashboard["panels"]}:
            problem(f"dashboard: no '{title}' panel")
    if not any(p["type"] == "state-timeline" for p in dashboard["panels"]):
        problem("dashboard: the breaker state needs a state-timeline panel")
    return queries


def dashboard(rules_out):
    """Grafana's variables replaced by what they expand to, so promtool can parse every query."""
    rules = []
    for index, (title, expr) in enumerate(dashboard_queries()):
        expr = expr.replace("$__rate_interval", "5m")
        expr = re.sub(r"\$\w+", ".*", expr)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr, "labels": {"panel": title}})
    Path(rules_out).write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))


METRIC = re.compile(r"\b((?:circuit_breaker|breakerd)_[a-z_]+)\b")


def names(scrape_path):
    exposed = set()
    for line in Path(scrape_path).read_text().splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            exposed.add(name)
            if kind == "histogram":
                exposed |= {name + "_bucket", name + "_sum", name + "_count"}
    used = set()
    alerts = yaml.safe_load((HERE / "prometheus" / "alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            used |= {(f"alert {rule['alert']}", m) for m in METRIC.findall(rule["expr"])}
    for title, expr in dashboard_queries():
        used |= {(f"dashboard '{title}'", m) for m in METRIC.findall(expr)}
    for where, metric in sorted(used):
        if metric not in exposed:
            problem(f"{where} uses {metric}, which breakerd does not expose")
    print(f"{len({m for _, m in used})} metric names used by alerts and dashboard, all exposed" if not problems else "")


def postgres_argv(binary, password_file):
    """The daemon command lines of systemd/breakerd-postgres.service and
    kubernetes-postgres/deployment.yaml, as they would run, for check.sh to start against a
    throwaway PostgreSQL: what the unit or pod would fill in is filled in for this machine (the
    config file from deploy/, the advertised address, the password file), and `--port 0
    --http-port 0` are appended (the last of a flag wins) so nothing here collides."""
    unit = (HERE / "systemd" / "breakerd-postgres.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    argv = exec_start.replace("/etc/breakerd/breakerd.json", str(HERE / "breakerd.json")) \
        .replace("${BREAKERD_ADVERTISE}", "127.0.0.1:7420") \
        .replace("${CREDENTIALS_DIRECTORY}/postgres-password", password_file).split()
    argv[0] = binary
    print(json.dumps({"name": "systemd/breakerd-postgres.service", "argv": argv + ["--port", "0", "--http-port", "0"]}))
    deployment = next(iter(load("kubernetes-postgres").get("Deployment", [])))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
    args = [a.replace("$(POD_IP)", "127.0.0.1") for a in container.get("args", [])]
    args = [password_file if any(a.startswith(m + "/") for m in mounted) else a for a in args]
    print(json.dumps({"name": "kubernetes-postgres/deployment.yaml",
                      "argv": [binary] + args + ["--port", "0", "--http-port", "0"]}))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "manifests":
        manifests()
    elif command == "dashboard" and len(sys.argv) == 3:
        dashboard(sys.argv[2])
    elif command == "names" and len(sys.argv) == 3:
        names(sys.argv[2])
    elif command == "postgres-argv" and len(sys.argv) == 4:
        postgres_argv(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    for message in problems:
        print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1 if problems else 0)
