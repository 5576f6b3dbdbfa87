"""`sagefit cost`: the table, the JSON, the plot, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sagefit.cli import main
from sagefit.core import atomic
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile
from sagefit.cost import plot as cost_plot
from sagefit.cost.settings import resolve
from sagefit.cost.traffic import parse_traffic

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODE_KEYS = {
    "mode",
    "profile_mode",
    "instance_hours",
    "cost_usd",
    "cost_per_1k_requests_usd",
    "cold_starts",
    "wakeups",
    "cold_start_requests",
    "cold_start_handling",
    "cold_start_added_latency_s",
    "queue_wait_p95_s",
    "failed_requests",
    "expired_requests",
    "unfinished_requests",
    "saving_vs_always_on_usd",
    "saving_vs_always_on_share",
    "peak_instances",
}


def cost(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["cost", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_instance_profiles(tmp_path, base_profile_dict) -> Path:
    """zephyr-7b allowed two instances (a wake still starts exactly one)."""
    raw = dict(base_profile_dict)
    raw["scaling"] = {"mode": "scale-to-zero", "max_capacity": 2}
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "zephyr-7b.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def test_the_issues_example_prints_the_seed_bill_and_the_cold_starts(capsys, profiles_dir):
    code, out, err = cost(capsys, "llama2-70b-awq", "--traffic", "monthly:300", "--profiles", str(profiles_dir))
    assert code == 0 and err == ""
    assert "$5,274.96" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert set(lines) == {"always-on", "scale-to-zero", "async (profile)"}
    assert "744.0" in lines["always-on"]
    for mode in ("scale-to-zero", "async (profile)"):
        cells = [c.strip() for c in lines[mode].split("│")[1:-1]]
        assert float(cells[1]) < 0.2 * 744  # instance-hours: under a fifth of always-on
        assert int(cells[4]) > 100  # cold starts
        assert "%" in cells[8]  # the saving
    assert "cold start (estimate): " in out and "estimate" in out and "sagefit/core/assumptions.py" in out
    assert "fail (NoCapacityInvocationFailures)" in out and "wait in the S3 queue" in out
    assert "expired in the S3 queue" not in out and "failed for good" not in out  # no schedule holds it at zero


def test_a_weekend_off_schedule_shows_the_requests_it_loses(capsys, weekend_profiles):
    code, out, err = cost(capsys, "llama2-70b-awq", "--traffic", "monthly:300", "--profiles", str(weekend_profiles))
    assert code == 0, err
    assert "scheduled bounds simulated: weekend-off, weekday-on" in out
    assert "expired in the S3 queue" in out and "failed for good" in out


def test_json_has_every_figure(capsys, profiles_dir):
    code, out, _ = cost(capsys, "Llama2x70bAwqStack", "--format", "json", "--profiles", str(profiles_dir))
    assert code == 0
    data = json.loads(out)
    assert data["traffic"]["spec"] == "monthly:300" and data["traffic"]["requests"] == 300
    assert data["instance_type"] == "ml.g5.12xlarge" and data["price_per_hour"] == 7.09
    assert set(data["cold_start"]) == {
        "total_s",
        "provisioning_s",
        "container_start_s",
        "download_s",
        "load_s",
        "weights_gb",
    }
    assert data["scale_in_delay_s"] == 960
    assert [m["mode"] for m in data["modes"]] == ["always-on", "scale-to-zero", "async"]
    for item in data["modes"]:
        assert set(item) >= MODE_KEYS, MODE_KEYS - set(item)
    by_mode = {m["mode"]: m for m in data["modes"]}
    assert by_mode["always-on"]["cost_usd"] == 5274.96
    assert by_mode["async"]["profile_mode"] is True
    assert by_mode["async"]["cold_start_handling"] == "queued"
    assert by_mode["scale-to-zero"]["cold_start_handling"] == "failed and retried"
    latency = by_mode["async"]["cold_start_added_latency_s"]
    assert latency["p50"] <= latency["p95"] <= latency["max"]
    assert by_mode["async"]["saving_vs_always_on_usd"] == pytest.approx(
        5274.96 - by_mode["async"]["cost_usd"], abs=0.02
    )
    assert data["assumptions"]["container_start_s"]["source"]
    assert "estimate" in data["estimate"]


def test_one_mode_still_measures_its_saving_against_always_on(capsys, weekend_profiles):
    _code, out, _ = cost(
        capsys,
        "llama2-70b-awq",
        "--mode",
        "scale-to-zero",
        "--format",
        "json",
        "--ignore-schedules",
        "--profiles",
        str(weekend_profiles),
    )
    data = json.loads(out)
    assert [m["mode"] for m in data["modes"]] == ["scale-to-zero"]
    assert data["modes"][0]["saving_vs_always_on_share"] > 0.8
    assert data["modes"][0]["failed_requests"] == 0  # no weekend schedule
    assert any("left out (--ignore-schedules)" in n for n in data["notes"])


def test_assumptions_can_be_listed_and_overridden(capsys, profiles_dir):
    code, out, _ = cost(capsys, "--list-assumptions")
    assert code == 0
    from sagefit.core.assumptions import COST_ASSUMPTIONS

    for a in COST_ASSUMPTIONS:
        assert a.name in out
    code, out, _ = cost(
        capsys,
        "llama2-70b-awq",
        "--format",
        "json",
        "--profiles",
        str(profiles_dir),
        "--assume",
        "container_start_s=300",
        "--assume",
        "output_tokens=256",
    )
    data = json.loads(out)
    assert data["cold_start"]["container_start_s"] == 300
    assert data["request"]["output_tokens"] == 256
    assert data["assumptions"]["container_start_s"]["overridden"] is True


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--traffic", "montly:300"], "--traffic: unknown traffic kind 'montly'; fix: use monthly:N"),
        (["--traffic", "trace:/nonexistent/t.csv"], "cannot read the trace (No such file or directory)"),
        (["--assume", "cold_start=5"], "--assume: unknown assumption 'cold_start'"),
        (["--assume", "container_start_s=fast"], "container_start_s: 'fast' is not a number"),
        (["--assume", "scale_in_periods=2.5"], "must be a whole number"),
        (["--assume", "alarm_delay_s=-1"], "must be above 0"),
        (["--assume", "nothing"], "write --assume NAME=VALUE"),
        (["--plot", "cost.jpg"], "--plot: cost.jpg: --plot writes PNG images; fix: give the file a .png name"),
        (["--plot", "/nonexistent-dir/cost.png"], "the directory /nonexistent-dir does not exist"),
        (["--seed", "-1"], "--seed: -1 is not a seed"),
        (["--traffic", "monthly:1000M"], "more than the 50,000,000 one simulation holds"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, profiles_dir, argv, words):
    code, out, err = cost(capsys, "llama2-70b-awq", "--profiles", str(profiles_dir), *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("sagefit: error: ")
    assert words in err
    assert "fix:" in err


def test_a_bad_trace_line_names_the_line(capsys, profiles_dir, tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("2027-08-02T09:00:00Z,100,20\n2027-08-02T09:05:00Z,100\n")
    code, _, err = cost(capsys, "llama2-70b-awq", "--profiles", str(profiles_dir), "--traffic", f"trace:{trace}")
    assert code == 2
    assert err == (
        f"sagefit: error: {trace}: line 2: expected 1 or 3 fields, found 2 "
        f"('2027-08-02T09:05:00Z,100'); fix: each line is timestamp[,tokens_in,tokens_out]: an ISO 8601 "
        "time (2027-08-02T09:15:00Z) or seconds from the start of the month\n"
    )


def test_unknown_profile_and_missing_profile(capsys, profiles_dir):
    code, _, err = cost(capsys, "llama2-70b-aqw", "--profiles", str(profiles_dir))
    assert code == 2 and "did you mean llama2-70b-awq" in err
    code, _, err = cost(capsys, "--profiles", str(profiles_dir))
    assert code == 2 and "name the profile to cost" in err


def test_cost_from_a_trace(capsys, profiles_dir, tmp_path):
    trace = tmp_path / "gateway.csv"
    trace.write_text(
        "timestamp,tokens_in,tokens_out\n"
        + "".join(f"2027-09-0{d}T10:{m:02d}:00Z,800,300\n" for d in (6, 7) for m in range(0, 60, 5))
    )
    _code, out, _ = cost(
        capsys, "llama2-70b-awq", "--profiles", str(profiles_dir), "--traffic", f"trace:{trace}", "--format", "json"
    )
    data = json.loads(out)
    assert data["traffic"]["requests"] == 24
    assert data["traffic"]["month_start"].startswith("2027-09-06T00:00:00")
    by_mode = {m["mode"]: m for m in data["modes"]}
    # two busy hours on two days: two wake-ups each
    assert by_mode["async"]["wakeups"] == 2
    assert by_mode["async"]["cold_start_requests"] >= 2


# --------------------------------------------------------------------------- the plot


def test_two_instances_waking_one_at_a_time_stay_below_always_on(two_instance_profiles):
    plan = plan_profile(load_profile(two_instance_profiles / "zephyr-7b.yaml"))
    settings = resolve(plan)
    spec = parse_traffic("monthly:1000")
    volumes = np.array([10, 100, 1000, 3000, 10_000], dtype=float)
    result = cost_plot.sweep(plan, spec, settings, volumes=volumes)
    assert result.costs["always-on"] == pytest.approx(np.full(5, 1127.16), abs=0.01)
    # the wake sets exact capacity 1, so scaling to zero only approaches one always-on instance
    assert result.costs["scale-to-zero"][0] < 100
    assert np.all(result.costs["scale-to-zero"] <= result.costs["always-on"] + 0.01)
    assert {c.kind for c in result.crossovers} == {"break-even"}


def test_plot_marks_where_always_on_becomes_cheaper(two_instance_profiles):
    plan = plan_profile(load_profile(two_instance_profiles / "zephyr-7b.yaml"))
    settings = resolve(plan)
    spec = parse_traffic("monthly:1000")
    volumes = np.array([10.0, 100.0, 1000.0, 3000.0])
    crossing = cost_plot.Crossover(mode="scale-to-zero", volume=2000.0, cost=1127.16, kind="crossing")
    result = cost_plot.Sweep(
        volumes=volumes,
        costs={"always-on": np.full(4, 1127.16), "scale-to-zero": np.array([20.0, 200.0, 900.0, 1400.0])},
        crossovers=(crossing,),
        current_volume=1000.0,
    )
    fig = cost_plot.figure(plan, spec, settings, result)
    ax = fig.axes[0]
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["crossover-label-scale-to-zero"] == "scale-to-zero: always-on cheaper above ~2k/month"
    assert "crossover-scale-to-zero" in {line.get_gid() for line in ax.lines}
    assert ax.get_xscale() == "log"
    assert "estimate" in ax.get_ylabel()


def test_plot_break_even_when_the_curves_cannot_cross(weekend_profiles):
    from sagefit.core.profiles import find_profile, load_profiles

    plan = plan_profile(find_profile(load_profiles(weekend_profiles), "llama2-70b-awq"))
    settings = resolve(plan)
    volumes = np.array([30, 300, 3000, 30_000], dtype=float)
    result = cost_plot.sweep(plan, parse_traffic("monthly:300"), settings, volumes=volumes, schedules=False)
    # one instance at most: scaling to zero can only approach the always-on bill, so the mark is where
    # it saves less than breakeven_saving (5%)
    assert all(c.kind == "break-even" for c in result.crossovers) and len(result.crossovers) == 2
    assert all(3000 < c.volume < 30_000 for c in result.crossovers)
    with_schedules = cost_plot.sweep(plan, parse_traffic("monthly:300"), settings, volumes=volumes)
    assert with_schedules.crossovers == ()  # weekends off: always-on never catches up
    fig = cost_plot.figure(plan, parse_traffic("monthly:300"), settings, with_schedules)
    assert any(t.get_gid() == "no-crossover" for t in fig.axes[0].texts)


def test_find_crossover_interpolates():
    v = np.array([10.0, 100.0, 1000.0])
    base = np.full(3, 100.0)
    cross = cost_plot.find_crossover("async", v, np.array([0.0, 50.0, 150.0]), base, 0.05)
    assert cross.kind == "crossing" and cross.volume == pytest.approx(10**2.5) and cross.cost == pytest.approx(100)
    even = cost_plot.find_crossover("async", v, np.array([10.0, 90.0, 98.0]), base, 0.05)
    assert even.kind == "break-even" and 100 < even.volume < 1000
    assert cost_plot.find_crossover("async", v, np.array([1.0, 2.0, 3.0]), base, 0.05) is None


def test_cli_plot_writes_a_png_and_reports_the_crossover(capsys, two_instance_profiles, tmp_path):
    (tmp_path / "out").mkdir()
    out_png = tmp_path / "out" / "cost.png"
    code, out, err = cost(
        capsys,
        "zephyr-7b",
        "--profiles",
        str(two_instance_profiles),
        "--traffic",
        "monthly:1000",
        "--mode",
        "scale-to-zero",
        "--plot",
        str(out_png),
    )
    assert code == 0, err
    assert out_png.read_bytes()[:8] == PNG_MAGIC
    assert f"plot: wrote {out_png}" in out
    # the crossover: where always-on turns cheaper, or (if the curves never cross) where the saving
    # falls under the breakeven share
    assert re.search(r"scale-to-zero: (always-on cheaper|saves < 5%) above ~[\d.]+k?/month", out), out
    assert [p.name for p in out_png.parent.iterdir()] == ["cost.png"]  # no temporary file left behind


def test_plot_write_is_atomic(tmp_path, monkeypatch, two_instance_profiles):
    plan = plan_profile(load_profile(two_instance_profiles / "zephyr-7b.yaml"))
    settings = resolve(plan)
    spec = parse_traffic("monthly:100")
    result = cost_plot.sweep(plan, spec, settings, volumes=np.array([10.0, 100.0]))
    fig = cost_plot.figure(plan, spec, settings, result)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "cost.png"
    target.write_bytes(b"old picture")

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(SagefitError) as caught:
        cost_plot.write_png(fig, target)
    assert str(caught.value).startswith(f"{target}: cannot write the plot (No space left on device)")
    assert target.read_bytes() == b"old picture"
    assert sorted(p.name for p in folder.iterdir()) == ["cost.png"]
    monkeypatch.undo()
    cost_plot.write_png(fig, target)
    assert target.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in folder.iterdir()) == ["cost.png"]


def test_a_plot_that_cannot_be_written_is_one_line(capsys, two_instance_profiles, tmp_path):
    folder = tmp_path / "blocked"
    folder.mkdir()
    (folder / "cost.png").mkdir()  # a directory where the picture should go: the rename fails
    code, _out, err = cost(
        capsys,
        "zephyr-7b",
        "--profiles",
        str(two_instance_profiles),
        "--traffic",
        "monthly:100",
        "--mode",
        "scale-to-zero",
        "--plot",
        str(folder / "cost.png"),
    )
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"sagefit: error: {folder / 'cost.png'}: cannot write the plot")
    assert "Traceback" not in err
    assert [p.name for p in folder.iterdir()] == ["cost.png"]


def test_plotting_a_trace_with_nothing_inside_the_month_is_one_line(capsys, profiles_dir, tmp_path):
    trace = tmp_path / "late.csv"
    trace.write_text(f"{800 * 3600}\n")  # after the 744 simulated hours
    code, out, err = cost(
        capsys,
        "mistral-7b",
        "--profiles",
        str(profiles_dir),
        "--traffic",
        f"trace:{trace}",
        "--plot",
        str(tmp_path / "cost.png"),
    )
    assert code == 2 and out == ""
    assert err.startswith(f"sagefit: error: --plot: the trace {trace} has no request inside the month")
    assert not (tmp_path / "cost.png").exists()


def test_a_new_plot_gets_the_usual_file_mode(two_instance_profiles, tmp_path):
    import os

    plan = plan_profile(load_profile(two_instance_profiles / "zephyr-7b.yaml"))
    settings = resolve(plan)
    spec = parse_traffic("monthly:100")
    fig = cost_plot.figure(plan, spec, settings, cost_plot.sweep(plan, spec, settings, volumes=np.array([10.0])))
    umask = os.umask(0o022)
    try:
        cost_plot.write_png(fig, tmp_path / "cost.png")
    finally:
        os.umask(umask)
    assert (tmp_path / "cost.png").stat().st_mode & 0o777 == 0o644


def test_planning_stays_light(repo_root):
    code = (
        "import sagefit.cli, sys; rc = sagefit.cli.main(['plan']); assert rc == 0; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'matplotlib', 'boto3', 'botocore', 'aws_cdk')); assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_cost_imports_matplotlib_only_for_plots(repo_root):
    code = (
        "import sagefit.cli, sys; rc = sagefit.cli.main(['cost', 'llama2-70b-awq', '--format', 'json']); "
        "assert rc == 0; assert 'matplotlib' not in sys.modules and 'boto3' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_pooled_plan_says_the_fallbacks_are_not_billed(capsys, profiles_dir):
    code, out, _ = cost(
        capsys, "mistral-7b", "--mode", "scale-to-zero", "--format", "json", "--profiles", str(profiles_dir)
    )
    assert code == 0
    (note,) = [n for n in json.loads(out)["notes"] if n.startswith("instance pool:")]
    assert "billed as ml.g5.2xlarge (priority 1)" in note and "ml.g5.xlarge $1.408/h" in note
