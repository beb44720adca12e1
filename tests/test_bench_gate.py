"""The benchmark regression gate (benchmarks/gate.py): a case fails only when the head is
slower than the base by both more than 15 % and more than 0.05 s."""

from __future__ import annotations

import json

import pytest

from benchmarks import gate


def _results(times: dict, stat: str = "median") -> dict:
    """pytest-benchmark's JSON layout, reduced to what the gate reads."""
    return {"machine_info": {}, "benchmarks": [
        {"fullname": name, "stats": {"median": t, "min": 0.9 * t, "mean": 1.1 * t}}
        for name, t in times.items()]}


@pytest.mark.parametrize(("base", "head", "status"), [
    (1.00, 1.20, "regression"),     # +20 % and +0.20 s
    (1.00, 1.14, "same"),           # +0.14 s but only +14 %
    (0.10, 0.13, "same"),           # +30 % but only +0.03 s
    (0.30, 0.36, "regression"),     # +20 % and +0.06 s
    (10.0, 10.5, "same"),           # +0.5 s is only +5 %
    (1.20, 1.00, "improvement"),
    (0.13, 0.10, "same"),           # faster, but within the absolute margin
    (None, 1.0, "new"),
    (1.0, None, "removed"),
])
def test_classify(base, head, status):
    assert gate.classify(base, head) == status


def test_margins_are_parameters_and_strict():
    assert gate.classify(1.0, 1.1, rel=0.05, abs_s=0.01) == "regression"
    assert gate.classify(1.0, 1.1, rel=0.05, abs_s=0.2) == "same"
    # exactly at a margin is not beyond it (2.0 * 1.25 and 1.5 - 1.0 are exact in binary)
    assert gate.classify(2.0, 2.5, rel=0.25, abs_s=0.01) == "same"
    assert gate.classify(2.0, 2.5 + 1e-9, rel=0.25, abs_s=0.01) == "regression"
    assert gate.classify(1.0, 1.5, rel=0.1, abs_s=0.5) == "same"


def test_compare_times_lists_every_case_in_head_order_then_removed():
    base = {"a": 1.0, "b": 0.01, "gone": 2.0}
    head = {"b": 0.02, "a": 1.5, "added": 3.0}
    changes = gate.compare_times(base, head)
    assert [c.name for c in changes] == ["b", "a", "added", "gone"]
    assert {c.name: c.status for c in changes} == {
        "a": "regression", "b": "same", "added": "new", "gone": "removed"}
    assert changes[1].ratio == pytest.approx(1.5)
    assert changes[2].ratio is None


def test_combine_keeps_the_fastest_round():
    assert gate.combine([{"a": 1.0, "b": 2.0}, {"a": 0.8, "c": 1.0}]) == {
        "a": 0.8, "b": 2.0, "c": 1.0}


def test_case_times_reads_the_chosen_statistic(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_results({"x": 2.0})))
    assert gate.case_times(path) == {"x": 2.0}
    assert gate.case_times(path, "min") == {"x": pytest.approx(1.8)}
    with pytest.raises(ValueError, match="stat must be one of"):
        gate.case_times(path, "p99")


def test_case_times_rejects_what_is_not_pytest_benchmark_output(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        gate.case_times(bad)
    with pytest.raises(ValueError, match="benchmark-json"):
        gate.case_times({"something": []})
    disabled = {"benchmarks": [{"fullname": "x", "stats": None}]}
    with pytest.raises(ValueError, match="benchmark-disable"):
        gate.case_times(disabled)


def test_command_line_exit_status_and_report(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    base, head, ok = tmp_path / "base.json", tmp_path / "head.json", tmp_path / "ok.json"
    base.write_text(json.dumps(_results({"fit": 1.0, "eval": 0.020})))
    head.write_text(json.dumps(_results({"fit": 1.3, "eval": 0.030})))
    ok.write_text(json.dumps(_results({"fit": 1.1, "eval": 0.030})))
    md = tmp_path / "gate.md"
    assert gate.main(["compare", str(base), str(head), "--markdown", str(md)]) == 1
    out = capsys.readouterr().out
    assert "1 regression(s)" in out and "REGRESSION" in out
    assert md.read_text() == out.rstrip("\n") + "\n"
    # the regressed case is listed first
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `fit`")
    assert gate.main(["compare", str(base), str(ok)]) == 0
    assert "no regression" in capsys.readouterr().out
    # looser margins from the command line
    assert gate.main(["--rel", "0.5", "compare", str(base), str(head)]) == 0


def test_command_line_reports_unreadable_input(tmp_path, capsys):
    assert gate.main(["compare", str(tmp_path / "missing.json"), str(tmp_path / "x")]) == 2
    assert "error:" in capsys.readouterr().err


def test_step_summary_is_appended_on_github(tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    base = tmp_path / "b.json"
    base.write_text(json.dumps(_results({"fit": 1.0})))
    assert gate.main(["compare", str(base), str(base)]) == 0
    assert summary.read_text().startswith("earlier\n### Benchmark gate: **no regression**")
