"""Every numeric option of every command has a range, checked before any work starts
(issue 12, class 3): a bad value is exit 2 with click's message naming the flag, and no
traceback. The catalogue is generated here: for each command, each ranged option just past
its bounds."""

import click
import pytest
from click.testing import CliRunner

from edgefer import cli

# what a command needs besides the option under test, so parsing reaches it
NEEDS = {"export": ["x.pt"], "eval": ["x.pt", "--split", "PublicTest"], "bench": ["x.edgefer"], "run": [],
         "train": [], "calibrate": ["--data", "x.csv"]}


def _catalogue():
    cases = []
    for name, cmd in sorted(cli.main.commands.items()):
        for p in cmd.params:
            if isinstance(p.type, (click.IntRange, click.FloatRange)):
                for bad in _outside(p.type):  # an option of N values (--scale LO HI) gets N of them
                    cases.append(pytest.param(name, p.opts[0], [bad] * p.nargs, id="%s %s=%s" % (name, p.opts[0], bad)))
    return cases


def _outside(rng):
    step = 1 if isinstance(rng, click.IntRange) else 0.5
    out = []
    if rng.min is not None:
        out.append(rng.min if getattr(rng, "min_open", False) else rng.min - step)
    if rng.max is not None:
        out.append(rng.max if getattr(rng, "max_open", False) else rng.max + step)
    return out


CATALOGUE = _catalogue()


def test_the_catalogue_covers_every_numeric_option():
    untyped = [(name, p.opts[0]) for name, cmd in cli.main.commands.items() for p in cmd.params
               if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType))
               and not isinstance(p.type, (click.IntRange, click.FloatRange))]
    assert untyped == [], "numeric options without a range: %s" % untyped
    assert len(CATALOGUE) >= 80


@pytest.mark.parametrize("command, flag, values", CATALOGUE)
def test_an_out_of_range_value_is_refused_before_any_work(command, flag, values, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [command] + NEEDS.get(command, []) + [flag] + [str(v) for v in values]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, (args, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Invalid value for '%s'" % flag in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_epochs_zero_no_longer_claims_a_checkpoint(tmp_path):
    result = CliRunner().invoke(cli.main, ["train", "--data", "x.csv", "--epochs", "0", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "best.pt" not in result.output and not (tmp_path / "r").exists()
