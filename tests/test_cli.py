from conftest import run_cli


def test_every_command_has_help_with_examples():
    top = run_cli("--help")
    assert top.returncode == 0 and "Exit codes" in top.stdout
    commands = [l.split()[0] for l in top.stdout.split("Commands:")[1].splitlines() if l.strip()]
    assert {"train", "eval"} <= set(commands)
    for c in commands:
        p = run_cli(c, "--help")
        assert p.returncode == 0 and "Examples:" in p.stdout, (c, p.stdout)


def test_bad_input_one_line_errors(tmp_path):
    cases = [
        (["train", "--data", tmp_path / "nope.csv"], "nope.csv does not exist"),
        (["train"], "--data is required"),
        (["train", "--data", tmp_path, "--resume", tmp_path / "x"], "does not exist"),
        (["eval", tmp_path / "none.pt", "--data", tmp_path, "--split", "test"], "none.pt does not exist"),
    ]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    cases.append((["eval", bad, "--data", tmp_path, "--split", "test"], "bad.pt cannot be loaded"))
    for args, msg in cases:
        p = run_cli(*args)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0], (args, p.stderr)
