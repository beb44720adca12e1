"""The command line under hostile use: outputs that would destroy inputs or cannot be
written, a closed stdout, unsupported output formats, tampered model files, bad options.

Every case ends in exit status 0 with the promised files, or 1 with one line naming the
file or the flag at fault: never a traceback, "an unexpected error", a half-written
file or an overwritten input.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastlogit
from fastlogit.cli import main

hypothesis = pytest.importorskip("hypothesis")
from conftest import examples  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None
pytestmark = pytest.mark.skipif(not HAS_PANDAS, reason="the CSV reader needs pandas")
SRC = Path(fastlogit.__file__).resolve().parents[1]


def call(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training CSV and a model fitted on it."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2))
    y = (rng.random(120) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    csv = folder / "train.csv"
    csv.write_text("a,b,y\n" + "".join(f"{a:.17g},{b:.17g},{v}\n" for (a, b), v in zip(X, y)))
    model = folder / "model.json"
    assert main(["fit", str(csv), "--label", "y", "--out", str(model), "--summary", "none"]) == 0
    return {"csv": csv, "model": model, "folder": folder}


def test_fit_refuses_to_overwrite_its_input(files, capsys):
    before = files["csv"].read_bytes()
    code, out, err = call(capsys, "fit", files["csv"], "--label", "y", "--out", files["csv"])
    assert code == 1 and "input" in err and str(files["csv"]) in err
    assert files["csv"].read_bytes() == before
    assert "data:" not in out  # refused before reading


def test_out_naming_a_folder_fails_before_the_fit_and_leaves_nothing(files, tmp_path, capsys):
    code, out, err = call(capsys, "fit", files["csv"], "--label", "y", "--out", tmp_path)
    assert code == 1 and "folder" in err and "data:" not in out
    assert list(tmp_path.iterdir()) == []  # no NAME.tmp


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pipe to head")
def test_fit_piped_to_head_still_writes_every_file(files, tmp_path):
    out, plot = tmp_path / "m.json", tmp_path / "p.png"
    extra = f"--plot {plot}" if HAS_MPL else ""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC),
                                                                      os.environ.get("PYTHONPATH")])))
    cmd = (f"{sys.executable} -m fastlogit fit {files['csv']} --label y --summary full "
           f"--out {out} {extra} | head -2")
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2
    assert json.loads(out.read_text())["format"]
    if HAS_MPL:
        assert plot.stat().st_size > 0


@pytest.mark.parametrize("name", ["preds.xlsx", "preds.json", "preds", "preds.gz"])
def test_predict_refuses_output_formats_it_cannot_write(files, tmp_path, capsys, name):
    code, _, err = call(capsys, "predict", files["model"], files["csv"], "--out",
                        tmp_path / name)
    assert code == 1 and "Parquet" in err and name in err
    assert list(tmp_path.iterdir()) == []


def test_predict_refuses_to_overwrite_the_model_or_the_data(files, capsys):
    for target in (files["model"], files["csv"]):
        before = target.read_bytes()
        target_csv = target if target.suffix == ".csv" else None
        code, _, err = call(capsys, "predict", files["model"], files["csv"], "--out", target)
        assert code == 1
        assert target.read_bytes() == before
        if target_csv is not None:
            assert "input" in err


# -- options, by their flags, before any data are read


FIT_OPTIONS = [
    (["--l1-ratio", "1.5"], "--l1-ratio"),
    (["--l1-ratio", "0.5", "--solver", "newton"], "--l1-ratio"),
    (["--lam", "-1"], "--lam"),
    (["--lam", "inf"], "--lam"),
    (["--max-iter", "0"], "--max-iter"),
    (["--threads", "0"], "--threads"),
    (["--factr", "-1"], "--factr"),
    (["--pgtol", "nan"], "--pgtol"),
]


@pytest.mark.parametrize("options, flag", FIT_OPTIONS)
def test_fit_options_are_checked_first_by_flag(options, flag, tmp_path, capsys):
    missing = tmp_path / "absent.csv"  # never read: the option is wrong first
    code, _, err = call(capsys, "fit", missing, "--label", "y", *options)
    assert code == 1 and flag in err and "absent" not in err, err


@pytest.mark.parametrize("options, flag", [(["--threads", "0"], "--threads"),
                                           (["--chunk-rows", "0"], "--chunk-rows")])
def test_predict_options_are_checked_first_by_flag(options, flag, files, tmp_path, capsys):
    code, _, err = call(capsys, "predict", tmp_path / "absent.json", files["csv"], *options)
    assert code == 1 and flag in err, err


@pytest.mark.parametrize("options, flag", [(["--threads", "0"], "--threads"),
                                           (["--lam", "-2"], "--lam"),
                                           (["--max-iter", "0"], "--max-iter")])
def test_demo_options_are_checked_first_by_flag(options, flag, capsys):
    code, _, err = call(capsys, "demo", "--rows", "100", "--features", "10", *options)
    assert code == 1 and flag in err, err


def test_huge_thread_counts_work_on_the_command_line(files, tmp_path, capsys):
    code, _, err = call(capsys, "fit", files["csv"], "--label", "y", "--threads", str(2**40),
                        "--summary", "none", "--out", tmp_path / "m.json")
    assert code == 0, err


# -- tampered model files


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
                     st.just("Infinity"), st.just([]), st.just({}))
    return st.tuples(st.sampled_from(["coef", "intercept", "feature_names", "settings",
                                      "training_data", "fit", "format_version", "format",
                                      "coef[0]", "training_data.offset_column",
                                      "training_data.zero_based", "fit.n_iter"]), leaf)


def _apply(doc, key, value):
    doc = json.loads(json.dumps(doc))
    if key == "coef[0]":
        doc["coef"][0] = value
    elif "." in key:
        head, tail = key.split(".")
        if not isinstance(doc.get(head), dict):
            doc[head] = {}
        doc[head][tail] = value
    else:
        doc[key] = value
    return doc


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_tampered_model_files_give_one_line_naming_the_file(files, capsys, mutation):
    doc = json.loads(files["model"].read_text())
    bad = files["folder"] / "tampered.json"
    bad.write_text(json.dumps(_apply(doc, *mutation)))
    out = files["folder"] / "preds.csv"
    code, _, err = call(capsys, "predict", bad, files["csv"], "--out", out, "--quiet")
    if code == 0:
        preds = np.loadtxt(out, delimiter=",", skiprows=1)
        assert np.all((preds >= 0) & (preds <= 1))
        return
    assert code == 1, err
    assert "unexpected" not in err and "Traceback" not in err
    # the model file named, or the data file when the model asks for a column it lacks
    assert err.count("\n") == 1 and ("tampered.json" in err or "train.csv" in err), err


@pytest.mark.parametrize("text", [
    '{"format": "fastlogit-model", "format_version": 1, "coef": [Infinity], '
    '"intercept": 0, "feature_names": ["a"]}',
    '{"format": "fastlogit-model", "format_version": 1, "coef": [NaN], '
    '"intercept": 0, "feature_names": ["a"]}',
    "[" * 100_000 + "]" * 100_000,
    '{"format": "fastlogit-model", "format_version": 1, "coef": [1, 2], "intercept": 0, '
    '"feature_names": ["a", "b"], "settings": [1, 2]}',
])
def test_known_tamperings(files, tmp_path, capsys, text):
    bad = tmp_path / "m.json"
    bad.write_text(text)
    code, _, err = call(capsys, "predict", bad, files["csv"], "--out", tmp_path / "p.csv")
    assert code == 1 and "m.json" in err and "unexpected" not in err, err


# -- random option values: exit 0, or 1 naming the flag


_NUMBERS = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.sampled_from([0, 1, -1, 2**40]))


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["--lam", "--l1-ratio", "--factr", "--pgtol", "--max-iter",
                             "--threads", "--alpha", "--bins"]), value=_NUMBERS)
def test_fit_option_values_either_work_or_name_the_flag(files, capsys, flag, value):
    integer = flag in ("--max-iter", "--threads", "--bins")
    if integer:
        if isinstance(value, float):
            return  # argparse's own "invalid int value" (exit 2), not ours
    text = str(int(value)) if integer else repr(float(value))
    out = files["folder"] / "opt.json"
    try:
        code, _, err = call(capsys, "fit", files["csv"], "--label", "y", "--summary", "none",
                            "--out", out, flag, text)
    except SystemExit as exc:  # argparse: a value it cannot parse
        assert exc.code == 2
        return
    assert code in (0, 1), err
    if code == 1:
        assert flag in err or flag.lstrip("-").replace("-", "_") not in err, err
        assert "unexpected" not in err


@settings(max_examples=examples(10), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(-2, 300), features=st.integers(-1, 30), nnz=st.integers(-1, 8),
       threads=st.sampled_from([None, 0, 1, 2, 2**40]))
def test_demo_option_values_either_work_or_name_the_flag(capsys, rows, features, nnz,
                                                         threads):
    args = ["demo", "--rows", rows, "--features", features, "--nnz", nnz, "--no-progress"]
    if threads is not None:
        args += ["--threads", threads]
    code, _, err = call(capsys, *args)
    assert code in (0, 1), err
    if code == 1:
        assert "--" in err and "unexpected" not in err, err
