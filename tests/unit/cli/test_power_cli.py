"""``combat-norse power``: simulated power from the command line (pure, no database)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from combat_norse.cli.main import main

pytestmark = [pytest.mark.req("#7", "§9")]


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    status = main(["power", *args, "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    result: dict[str, object] = json.loads(out.out)
    return result


def test_statistician_gets_power_as_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    result = _run_json(
        capsys, "--odds-ratio", "1.6", "--n", "438", "--sims", "400", "--backend", "numpy"
    )
    assert result["quantity"] == "power"
    assert result["n_sims"] == 400
    assert 0.6 < float(result["rejection_rate"]) < 0.95  # type: ignore[arg-type]
    assert float(result["whitehead_power"]) == pytest.approx(0.7812, abs=1e-4)  # type: ignore[arg-type]
    design = result["design"]
    assert isinstance(design, dict)
    assert design["n"] == 438 and design["odds_ratio"] == 1.6
    analysis = result["analysis"]
    assert isinstance(analysis, dict) and analysis["covariates"] == ["experimental"]


def test_adjusted_flag_adds_the_strata_and_odds_ratio_one_reports_type_one_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _run_json(capsys, "--odds-ratio", "1", "--sims", "300", "--adjusted", "--seed", "3")
    assert result["quantity"] == "type_i_error"
    analysis = result["analysis"]
    assert isinstance(analysis, dict)
    assert analysis["covariates"] == ["experimental", "pediatric", "late"]
    assert result["seed"] == 3


def test_same_seed_prints_the_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--odds-ratio", "1.4", "--sims", "200", "--seed", "42", "--backend", "numpy")
    a = _run_json(capsys, *args)
    b = _run_json(capsys, *args)
    assert a["rejections"] == b["rejections"]


def test_text_output_names_the_design_and_whitehead(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["power", "--odds-ratio", "1.6", "--sims", "200", "--backend", "numpy"]) == 0
    out = capsys.readouterr()
    assert "simulated power:" in out.out
    assert "Whitehead (1993)" in out.out
    assert "permuted blocks" in out.out
    assert out.err == ""  # no progress bar when stderr is not a terminal


def test_progress_bar_is_drawn_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["power", "--odds-ratio", "1.6", "--sims", "100", "--json"]) == 0
    assert "trial" in fake.getvalue()
    assert json.loads(capsys.readouterr().out)["n_sims"] == 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--odds-ratio", "0"], "error: odds_ratio: must be > 0"),
        (["--odds-ratio", "-1.2"], "error: odds_ratio: must be > 0"),
        (["--odds-ratio", "nan"], "error: odds_ratio: must be a finite number"),
        (["--odds-ratio", "inf"], "error: odds_ratio: must be a finite number"),
        (["--odds-ratio", "1e308"], "error: odds_ratio: must be between"),
        (["--odds-ratio", "1.5", "--seed", "-1"], "error: seed: must be >= 0"),
        (["--odds-ratio", "1.5", "--window-log-odds", "1e308"], "error: window_log_odds:"),
        (["--odds-ratio", "1.5", "--sims", "0"], "error: sims: must be >= 1"),
        (["--odds-ratio", "1.5", "--n", "1"], "error: n: must be >= 2"),
        (["--odds-ratio", "1.5", "--dropout", "1"], "error: dropout: must be in [0, 1)"),
        (["--odds-ratio", "1.5", "--control-probs", "0.5,0.6"], "error: control_probs:"),
        (["--odds-ratio", "1.5", "--interaction"], "error: interaction: only with --adjusted"),
    ],
)
def test_bad_values_exit_2_with_one_line_naming_the_field(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["power", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_missing_odds_ratio_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["power", "--sims", "10"])
    assert exc.value.code == 2
    assert "--odds-ratio" in capsys.readouterr().err


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("combat-norse")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run(
        [str(script), "power", "--odds-ratio", "1.6", "--sims", "100", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["quantity"] == "power"
