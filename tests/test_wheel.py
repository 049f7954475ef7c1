"""Package data that works installed: the wheel holds every data file the code opens
(schemas, detector models, export profiles), and they are found from the unpacked wheel,
not from the source checkout."""

import os
import subprocess
import sys
import zipfile

from conftest import ROOT


def _tracked_data_files():
    out = subprocess.run(["git", "ls-files", "edgefer"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return sorted(f for f in out.split() if not f.endswith(".py"))


def test_wheel_holds_every_data_file(tmp_path):
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", ".", "-w", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    wheel = [f for f in os.listdir(str(tmp_path)) if f.endswith(".whl")]
    assert len(wheel) == 1, wheel
    with zipfile.ZipFile(str(tmp_path / wheel[0])) as z:
        names = set(z.namelist())
        z.extractall(str(tmp_path / "site"))
    missing = [f for f in _tracked_data_files() if f not in names]
    assert not missing, "data files left out of the wheel (pyproject.toml package-data): %s" % missing
    assert "edgefer/cli.py" in names and not any(n.startswith(("tests/", "export/")) for n in names)

    # The paths the code opens resolve inside the unpacked wheel, and the files are there.
    code = (
        "import os, sys\n"
        "sys.path.insert(0, %r)\n"
        "import edgefer\n"
        "assert edgefer.__file__.startswith(%r), edgefer.__file__\n"
        "from edgefer import bundle\n"
        "from edgefer.export import profiles\n"
        "from edgefer.runtime import blazeface, sinks\n"
        "from edgefer.bench import report\n"
        "for f in (bundle.SCHEMA_FILE, sinks.SCHEMA_PATH, report.SCHEMA_PATH, blazeface.BLAZEFACE_FRONT,\n"
        "          blazeface.BLAZEFACE_BACK):\n"
        "    assert os.path.isfile(f), f\n"
        "assert 'rpi5' in profiles.available() and profiles.load('rpi5')['options']\n"
        "from edgefer.runtime.pipeline import resolve_bundle, shipped_bundles\n"
        "from edgefer.bundle import Bundle\n"
        "assert shipped_bundles() == ['default', 'ferplus'], shipped_bundles()\n"
        "for name in shipped_bundles():\n"
        "    assert resolve_bundle(name).startswith(%r), resolve_bundle(name)\n"
        "    Bundle.load(resolve_bundle(name))\n"
        "print('ok')\n" % (str(tmp_path / "site"), str(tmp_path / "site"), str(tmp_path / "site"))
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stdout + p.stderr
