"""The ``fastlogit`` command line end to end, and the examples.

Most cases call ``fastlogit.cli.main`` in this process (the same code path as
the console script, without an interpreter start per case); the entry point
itself (``python -m fastlogit``), the piped toy, ``--debug``, the demo and
the examples run in subprocesses. Fits are checked against independent
references (statsmodels, scikit-learn, numpy); file round trips against the
library called directly.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit.cli import main

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(fastlogit.__file__).resolve().parents[1]
HAS = {name: importlib.util.find_spec(name) is not None
       for name in ("pandas", "pyarrow", "sklearn", "matplotlib", "statsmodels")}
needs = {name: pytest.mark.skipif(not ok, reason=f"{name} is not installed")
         for name, ok in HAS.items()}


def run(*args, input=None, cwd=None, timeout=300):
    """`python -m fastlogit ARGS` in a subprocess, with this checkout's fastlogit."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "fastlogit", *map(str, args)], input=input,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def call(capsys, *args):
    """main(ARGS) in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def data():
    """A small binomial problem with named columns, labels and counts."""
    rng = np.random.default_rng(7)
    m = 240
    X = rng.normal(size=(m, 3))
    n = rng.integers(1, 9, size=m).astype(float)
    z = X @ np.array([0.8, -0.5, 0.3]) - 0.4
    k = rng.binomial(n.astype(int), sigmoid(z)).astype(float)
    y = (rng.random(m) < sigmoid(z)).astype(float)
    return {"X": X, "n": n, "k": k, "y": y, "names": ["age", "dose", "score"]}


def frame(data):
    import pandas as pd

    df = pd.DataFrame(data["X"], columns=data["names"])
    df["trials"], df["succ"], df["label"] = data["n"], data["k"], data["y"].astype(int)
    df["id"] = [f"r{i}" for i in range(len(df))]
    return df


def model_params(path):
    doc = json.loads(Path(path).read_text())
    return doc, np.concatenate(([doc["intercept"]], doc["coef"]))


def read_predictions(path):
    import pandas as pd

    return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)


# -- the entry point and --help --------------------------------------------------------------

def test_entry_point_help_and_no_command():
    proc = run("--help")
    assert proc.returncode == 0 and "fit" in proc.stdout and "predict" in proc.stdout
    assert run().returncode == 2  # no command: the help, and a usage exit status


@pytest.mark.parametrize("command", ["fit", "predict", "demo"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: fastlogit " + command) and "--debug" in out


# -- fit and predict round trips -------------------------------------------------------------

@needs["pandas"]
@needs["statsmodels"]
def test_csv_counts_round_trip_matches_statsmodels(tmp_path, data):
    """fit --successes/--trials with lam=0 is R's/statsmodels' binomial GLM; predict streams it."""
    import statsmodels.api as sm

    frame(data).to_csv(tmp_path / "train.csv", index=False)
    proc = run("fit", "train.csv", "--successes", "succ", "--trials", "trials", "--features",
               "age,dose", "--features", "score", "--lam", "0", "--solver", "newton", "--out",
               "model.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dose" in proc.stdout and "std err" in proc.stdout  # the summary table
    doc, params = model_params(tmp_path / "model.json")
    exog = sm.add_constant(data["X"])
    ref = sm.GLM(np.column_stack([data["k"], data["n"] - data["k"]]), exog,
                 family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(params, ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(doc["inference"]["bse"], ref.bse, rtol=1e-6)
    assert doc["feature_names"] == data["names"]
    assert doc["fastlogit_version"] == fastlogit.__version__
    assert doc["settings"]["lam"] == 0 and doc["settings"]["solver"] == "newton"
    assert doc["training_data"]["successes"] == "succ"

    proc = run("predict", "model.json", "train.csv", "--keep", "id", "--chunk-rows", "50",
               "--out", "pred.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pred = read_predictions(tmp_path / "pred.csv")
    assert list(pred.columns) == ["id", "probability"]
    assert list(pred["id"]) == [f"r{i}" for i in range(len(data["n"]))]
    np.testing.assert_allclose(pred["probability"], ref.predict(exog), rtol=1e-7)


@needs["pandas"]
@needs["pyarrow"]
@needs["sklearn"]
def test_parquet_labels_round_trip_matches_sklearn(tmp_path, data, capsys):
    from sklearn.linear_model import LogisticRegression

    frame(data).to_parquet(tmp_path / "train.parquet")
    code, out, err = call(capsys, "fit", tmp_path / "train.parquet", "--label", "label",
                          "--features", "age,dose,score", "--lam", "2", "--out",
                          tmp_path / "m.json")
    assert code == 0, err
    _, params = model_params(tmp_path / "m.json")
    clf = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(data["X"], data["y"])
    np.testing.assert_allclose(params, np.r_[clf.intercept_, clf.coef_.ravel()], atol=1e-6)

    code, _, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "train.parquet",
                        "--out", tmp_path / "p.parquet", "--chunk-rows", "64",
                        "--linear-predictor")
    assert code == 0, err
    pred = read_predictions(tmp_path / "p.parquet")
    z = params[0] + data["X"] @ params[1:]
    np.testing.assert_allclose(pred["linear_predictor"], z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pred["probability"], sigmoid(z), rtol=1e-12)


@needs["pandas"]
def test_class_labels_with_positive(tmp_path, data, capsys):
    df = frame(data)
    df["outcome"] = np.where(data["y"] == 1, "yes", "no")
    df.drop(columns=["label", "succ", "trials", "id"]).to_csv(tmp_path / "t.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "t.csv", "--label", "outcome", "--positive",
                          "yes", "--out", tmp_path / "m.json", "--summary", "none")
    assert code == 0, err
    ref = fastlogit.fit(data["X"], y=data["y"])
    _, params = model_params(tmp_path / "m.json")
    np.testing.assert_allclose(params, np.r_[ref.intercept, ref.coef], rtol=1e-12)


@needs["sklearn"]
@pytest.mark.parametrize("one_based", [True, False])
def test_svmlight_round_trip(tmp_path, data, capsys, one_based):
    """-1/+1 labels, one- or zero-based indices; predict reads blocks of lines."""
    from sklearn.datasets import dump_svmlight_file
    from sklearn.linear_model import LogisticRegression

    X = sp.csr_matrix(np.where(np.abs(data["X"]) > 0.5, data["X"], 0.0))
    labels = np.where(data["y"] == 1, 1, -1)
    dump_svmlight_file(X, labels, str(tmp_path / "d.svm"), zero_based=not one_based)
    code, out, err = call(capsys, "fit", tmp_path / "d.svm", "--out", tmp_path / "m.json")
    assert code == 0, err
    assert "-1/+1" in out
    doc, params = model_params(tmp_path / "m.json")
    assert doc["training_data"]["zero_based"] is (not one_based)
    assert doc["feature_names"] == ([f"f{j}" for j in (1, 2, 3)] if one_based
                                    else ["f0", "f1", "f2"])
    clf = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, data["y"])
    np.testing.assert_allclose(params, np.r_[clf.intercept_, clf.coef_.ravel()], atol=1e-6)

    code, _, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "d.svm", "--out",
                        tmp_path / "p.csv", "--chunk-rows", "17")
    assert code == 0, err
    pred = read_predictions(tmp_path / "p.csv")["probability"].to_numpy() if HAS["pandas"] \
        else np.loadtxt(tmp_path / "p.csv", skiprows=1)
    np.testing.assert_allclose(pred, sigmoid(params[0] + X @ params[1:]), rtol=1e-12)


@needs["sklearn"]
@pytest.mark.parametrize("chunk_rows", [1, 3, 50, 10_000])
def test_svmlight_chunks_read_every_line_once(tmp_path, chunk_rows):
    """Blocks of whole lines cover the file exactly, whatever the block and line sizes."""
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file

    from fastlogit.cli._io import iter_chunks
    from fastlogit.cli._model import SavedModel

    rng = np.random.default_rng(1)
    dense = sp.random(200, 40, density=0.2, random_state=rng).toarray()
    dense[5] = 0.0  # an empty row: a line with a label only
    X = sp.csr_matrix(dense)
    dump_svmlight_file(X, rng.integers(0, 2, 200), str(tmp_path / "x.svm"), zero_based=True)
    model = SavedModel(np.zeros(40), 0.0, tuple(f"f{j}" for j in range(40)), {},
                       {"zero_based": True}, {})
    chunks = list(iter_chunks(str(tmp_path / "x.svm"), "svmlight", model, chunk_rows))
    got = sp.vstack([c.X for c in chunks])
    whole, _ = load_svmlight_file(str(tmp_path / "x.svm"), n_features=40, zero_based=True)
    assert got.shape == whole.shape and (got != whole).nnz == 0
    assert [c.start for c in chunks] == list(np.cumsum([0] + [c.X.shape[0] for c in chunks])[:-1])


def test_npz_round_trip_with_weights_and_offset(tmp_path, data, capsys):
    """One .npz with the CSR arrays, k, n, sample_weight and offset: as fastlogit.fit on them."""
    X = sp.csr_matrix(data["X"])
    rng = np.random.default_rng(3)
    w, off = rng.uniform(0.5, 2.0, len(data["n"])), rng.normal(0, 0.2, len(data["n"]))
    np.savez(tmp_path / "d.npz", data=X.data, indices=X.indices, indptr=X.indptr,
             shape=X.shape, format="csr", k=data["k"], n=data["n"], sample_weight=w, offset=off)
    code, out, err = call(capsys, "fit", tmp_path / "d.npz", "--lam", "0.5",
                          "--out", tmp_path / "m.json")
    assert code == 0, err
    assert "weighted, with offset" in out
    ref = fastlogit.fit(X, data["n"], data["k"], lam=0.5, sample_weight=w, offset=off)
    _, params = model_params(tmp_path / "m.json")
    np.testing.assert_allclose(params, np.r_[ref.intercept, ref.coef], rtol=1e-12, atol=1e-14)

    # predict uses the file's offset array, as the model was fitted with one
    code, _, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "d.npz",
                        "--out", tmp_path / "p.csv", "--chunk-rows", "100")
    assert code == 0, err
    pred = np.loadtxt(tmp_path / "p.csv", skiprows=1, delimiter=",")
    np.testing.assert_allclose(pred, ref.predict_proba(X, offset=off), rtol=1e-12)


@needs["pandas"]
def test_csv_weights_and_offset(tmp_path, data, capsys):
    """--weights and --offset are fastlogit.fit's sample_weight and offset; predict needs the
    offset column of the new rows too."""
    df = frame(data)
    rng = np.random.default_rng(5)
    df["w"], df["exposure"] = rng.uniform(0.5, 2.0, len(df)), rng.normal(0, 0.3, len(df))
    df.to_csv(tmp_path / "t.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "t.csv", "--successes", "succ", "--trials",
                          "trials", "--weights", "w", "--offset", "exposure", "--features",
                          "age,dose,score", "--lam", "0.3", "--out", tmp_path / "m.json")
    assert code == 0, err
    ref = fastlogit.fit(data["X"], data["n"], data["k"], lam=0.3, sample_weight=df["w"],
                        offset=df["exposure"])
    _, params = model_params(tmp_path / "m.json")
    np.testing.assert_allclose(params, np.r_[ref.intercept, ref.coef], rtol=1e-12)
    code, out, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "t.csv",
                          "--out", tmp_path / "p.csv")
    assert code == 0, err
    np.testing.assert_allclose(read_predictions(tmp_path / "p.csv")["probability"],
                               ref.predict_proba(data["X"], offset=df["exposure"]), rtol=1e-12)
    df.drop(columns=["exposure"]).to_csv(tmp_path / "no_offset.csv", index=False)
    code, out, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "no_offset.csv")
    assert code == 1 and "no column 'exposure'" in err


@needs["pandas"]
def test_saved_index_column_warns(tmp_path, data, capsys):
    frame(data)[["age", "label"]].to_csv(tmp_path / "t.csv")  # index=True: "Unnamed: 0"
    code, out, err = call(capsys, "fit", tmp_path / "t.csv", "--label", "label")
    assert code == 0
    assert err.startswith("fastlogit: warning: ") and "'Unnamed: 0' looks like" in err


def test_npz_matrix_and_separate_targets(tmp_path, data, capsys):
    """scipy.sparse.save_npz cannot hold more arrays: --targets names a second file."""
    X = sp.csr_matrix(data["X"])
    sp.save_npz(tmp_path / "X.npz", X)
    np.savez(tmp_path / "t.npz", y=data["y"])
    code, out, err = call(capsys, "fit", tmp_path / "X.npz", "--summary", "none")
    assert code == 1 and "--targets" in err  # no outcome arrays: says what to do
    code, out, err = call(capsys, "fit", tmp_path / "X.npz", "--targets", tmp_path / "t.npz",
                          "--out", tmp_path / "m.json", "--summary", "none")
    assert code == 0, err
    ref = fastlogit.fit(X, y=data["y"])
    _, params = model_params(tmp_path / "m.json")
    np.testing.assert_allclose(params, np.r_[ref.intercept, ref.coef], rtol=1e-12)


@needs["pandas"]
def test_predict_csv_in_chunks_to_stdout(tmp_path, data, capsys):
    frame(data).to_csv(tmp_path / "t.csv", index=False)
    assert call(capsys, "fit", tmp_path / "t.csv", "--label", "label", "--features",
                "age,dose,score", "--out", tmp_path / "m.json")[0] == 0
    from fastlogit.cli._io import iter_chunks
    from fastlogit.cli._model import load_model

    model = load_model(str(tmp_path / "m.json"))
    sizes = [c.X.shape[0] for c in iter_chunks(str(tmp_path / "t.csv"), "csv", model, 100)]
    assert sizes == [100, 100, 40]
    code, out, err = call(capsys, "predict", tmp_path / "m.json", tmp_path / "t.csv",
                          "--chunk-rows", "100")
    assert code == 0 and "wrote 240 predictions to stdout" in err
    values = np.array(out.split()[1:], dtype=float)
    _, params = model_params(tmp_path / "m.json")
    np.testing.assert_allclose(values, sigmoid(params[0] + data["X"] @ params[1:]), rtol=1e-12)


@needs["pandas"]
def test_large_model_prints_largest_coefficients(tmp_path, capsys):
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(300, 120)), columns=[f"c{j}" for j in range(120)])
    df["y"] = (rng.random(300) < 0.5).astype(int)
    df.to_csv(tmp_path / "wide.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "wide.csv", "--label", "y")
    assert code == 0, err
    assert "121 parameters: too many" in out and "the 10 largest coefficients" in out


# -- bad input: one line on stderr, exit status 1 --------------------------------------------

@pytest.fixture
def bad_files(tmp_path, data):
    """name -> path of a broken or unsuitable input."""
    files = {}
    header = "age,dose,y,n,k\n"
    good = "0.5,1.0,1,4,2\n-0.3,0.2,0,3,1\n1.2,-0.4,1,5,5\n"

    def write(name, text):
        (tmp_path / name).write_text(text)
        files[name] = tmp_path / name

    write("good.csv", header + good)
    write("labels2.csv", header + good + "0.1,0.1,2,4,1\n")
    write("k_gt_n.csv", header + good + "0.1,0.1,1,3,4\n")
    write("neg_n.csv", header + good + "0.1,0.1,1,-1,0\n")
    write("text_feature.csv", header + good + "abc,0.1,1,3,1\n")
    write("missing_value.csv", header + good + ",0.1,1,3,1\n")
    write("empty.csv", header)
    write("bad.parquet", "this is not parquet")
    write("bad.svm", "1 1:0.5 2:1\n0 x:1\n")
    write("labels2.svm", "1 1:0.5\n2 2:1\n")
    write("data.unknown", header + good)
    write("notjson.json", "{ not json")
    write("other.json", json.dumps({"format": "something-else"}))
    write("future.json", json.dumps({"format": "fastlogit-model", "format_version": 99,
                                     "coef": [1.0], "intercept": 0.0, "feature_names": ["a"]}))
    write("model.json", json.dumps({"format": "fastlogit-model", "format_version": 1,
                                    "coef": [1.0, 2.0], "intercept": 0.0,
                                    "feature_names": ["age", "dose"],
                                    "training_data": {"format": "csv"}}))
    write("nodose.csv", "age,y\n0.5,1\n")
    write("wide.svm", "1 1:0.5 7:1\n")
    np.savez(tmp_path / "noy.npz", X=np.eye(3))
    files["noy.npz"] = tmp_path / "noy.npz"
    np.savez(tmp_path / "short.npz", X=np.eye(3), y=np.array([0.0, 1.0]))
    files["short.npz"] = tmp_path / "short.npz"
    np.savez(tmp_path / "y2.npz", X=np.eye(3), y=np.array([0.0, 1.0, 3.0]))
    files["y2.npz"] = tmp_path / "y2.npz"
    files["dir"] = tmp_path
    return files


BAD_FIT = {  # case: (arguments, "@name" for a file of bad_files; text the error must hold)
    "missing file": (["nope.csv", "--label", "y"], "no such file"),
    "a directory": (["@dir", "--format", "csv", "--label", "y"], "directory"),
    "unknown format": (["@data.unknown", "--label", "y"], "--format"),
    "no outcome": (["@good.csv"], "--label COL"),
    "missing column": (["@good.csv", "--label", "z"], "no column 'z'"),
    "missing feature": (["@good.csv", "--label", "y", "--features", "age,height"],
                        "no column 'height'"),
    "labels outside 0/1": (["@labels2.csv", "--label", "y", "--features", "age"],
                           "0/1 labels; row 3 has 2"),
    "k > n": (["@k_gt_n.csv", "--successes", "k", "--trials", "n", "--features", "age"],
              "exceed trials 'n': row 3 has k=4, n=3"),
    "negative trials": (["@neg_n.csv", "--successes", "k", "--trials", "n", "--features",
                         "age"], "must be >= 0"),
    "text feature": (["@text_feature.csv", "--label", "y", "--features", "age"],
                     "feature column 'age' is not numeric (row 3"),
    "missing value": (["@missing_value.csv", "--label", "y", "--features", "age"],
                      "missing or infinite values (first at row 3)"),
    "no rows": (["@empty.csv", "--label", "y"], "no data rows"),
    "feature is the outcome": (["@good.csv", "--label", "y", "--features", "y,age"],
                               "both a feature and"),
    "positive without label": (["@good.csv", "--positive", "1"], "--positive needs --label"),
    "successes without trials": (["@good.csv", "--successes", "k"], "give both"),
    "corrupt parquet": (["@bad.parquet", "--label", "y"], "cannot read"),
    "corrupt svmlight": (["@bad.svm"], "cannot read"),
    "svmlight labels": (["@labels2.svm"], "0/1 labels; row 1 has 2"),
    "npz without outcome": (["@noy.npz"], "no outcome arrays"),
    "npz wrong length": (["@short.npz"], "has 2 entries but X has 3 rows"),
    "npz labels": (["@y2.npz"], "row 2 has 3"),
    "negative lam": (["@good.csv", "--label", "y", "--lam", "-1"], "lam must be"),
    "bad threads": (["@good.csv", "--label", "y", "--threads", "0"], "threads must be"),
    "output folder missing": (["@good.csv", "--label", "y", "--out", "no/such/dir/m.json"],
                              "does not exist"),
}
BAD_PREDICT = {
    "model not JSON": (["@notjson.json", "@good.csv"], "not JSON"),
    "not a model": (["@other.json", "@good.csv"], "not a fastlogit model file"),
    "future model": (["@future.json", "@good.csv"], "format version 99"),
    "missing model": (["nope.json", "@good.csv"], "no such model file"),
    "missing feature column": (["@model.json", "@nodose.csv"], "no column 'dose'"),
    "too many svmlight features": (["@model.json", "@wide.svm"], "more features"),
    "npz width": (["@model.json", "@noy.npz"], "has 3 features but the model"),
    "no rows": (["@model.json", "@empty.csv"], "no data rows"),
    "bad chunk size": (["@model.json", "@good.csv", "--chunk-rows", "0"], "--chunk-rows"),
}


def _fill(args, files):
    return [str(files[a[1:]]) if a.startswith("@") else a for a in args]


def _readers_missing(args):
    exts = {"csv": "pandas", "parquet": "pyarrow", "svm": "sklearn", "unknown": "pandas"}
    return [mod for a in args for ext, mod in exts.items()
            if a.endswith("." + ext) and not HAS[mod]] + (
        ["pandas"] if not HAS["pandas"] and "parquet" in " ".join(args) else [])


@pytest.mark.parametrize("case", sorted(BAD_FIT))
def test_bad_fit_input_is_one_line(case, bad_files, capsys, monkeypatch, tmp_path):
    args, expected = BAD_FIT[case]
    if _readers_missing(args):
        pytest.skip(f"needs {_readers_missing(args)[0]}")
    monkeypatch.chdir(tmp_path)
    code, out, err = call(capsys, "fit", *_fill(args, bad_files))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastlogit: error: ") and expected in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(BAD_PREDICT))
def test_bad_predict_input_is_one_line(case, bad_files, capsys, monkeypatch, tmp_path):
    args, expected = BAD_PREDICT[case]
    if _readers_missing(args):
        pytest.skip(f"needs {_readers_missing(args)[0]}")
    monkeypatch.chdir(tmp_path)
    code, out, err = call(capsys, "predict", *_fill(args, bad_files), "--out",
                          tmp_path / "out.csv")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert not (tmp_path / "out.csv").exists()  # no half-written output
    assert not (tmp_path / "out.csv.tmp").exists()


@needs["pandas"]
def test_subprocess_error_and_debug_traceback(bad_files):
    proc = run("fit", bad_files["k_gt_n.csv"], "--successes", "k", "--trials", "n")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "exceed trials" in proc.stderr
    proc = run("fit", bad_files["k_gt_n.csv"], "--successes", "k", "--trials", "n", "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "CliError" in proc.stderr


def test_missing_optional_reader_says_what_to_install(bad_files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    code, _, err = call(capsys, "fit", bad_files["good.csv"], "--label", "y")
    assert code == 1
    assert "needs pandas: pip install pandas (or pip install 'fastlogit[cli]')" in err


@needs["pandas"]
def test_missing_matplotlib_for_plot(bad_files, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = call(capsys, "fit", bad_files["good.csv"], "--label", "y", "--features",
                        "age", "--plot", tmp_path / "c.png")
    assert code == 1 and "--plot needs matplotlib: pip install matplotlib" in err


# -- progress, plots, options ----------------------------------------------------------------

@needs["pandas"]
def test_progress_only_when_asked_off_a_terminal(tmp_path, data, capsys):
    frame(data).to_csv(tmp_path / "t.csv", index=False)
    base = ["fit", tmp_path / "t.csv", "--label", "label", "--features", "age,dose",
            "--summary", "none"]
    code, out, err = call(capsys, *base)
    assert code == 0 and "iteration" not in err  # stderr is not a terminal here
    code, out, err = call(capsys, *base, "--progress")
    assert code == 0 and "fitting: iteration 0 " in err and "max |gradient|" in err
    code, out, err = call(capsys, *base, "--verbose")
    assert code == 0 and "iter" in out and "objective" in out


@needs["pandas"]
@needs["matplotlib"]
def test_calibration_plot(tmp_path, data, capsys):
    frame(data).to_csv(tmp_path / "t.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "t.csv", "--successes", "succ", "--trials",
                          "trials", "--features", "age,dose,score", "--plot",
                          tmp_path / "cal.png", "--bins", "5")
    assert code == 0, err
    assert (tmp_path / "cal.png").read_bytes()[:4] == b"\x89PNG"
    assert "5 bins" in out


def test_calibration_bins_reference():
    """Bins of equal trials; observed = sum k / sum n; Jeffreys bounds from scipy's beta."""
    from scipy.stats import beta

    from fastlogit.cli._plot import calibration_bins

    rng = np.random.default_rng(0)
    p = rng.random(1000)
    n = rng.integers(0, 5, 1000).astype(float)
    k = rng.binomial(n.astype(int), p).astype(float)
    cal = calibration_bins(p, n, k, bins=4)
    order = np.argsort(p)
    cum = np.cumsum(n[order]) - n[order] / 2
    idx = np.minimum((4 * cum / n.sum()).astype(int), 3)
    for b in range(4):
        rows = order[idx == b]
        assert cal["trials"][b] == n[rows].sum()
        assert np.isclose(cal["observed"][b], k[rows].sum() / n[rows].sum())
        assert np.isclose(cal["predicted"][b], (n[rows] * p[rows]).sum() / n[rows].sum())
        a, c = k[rows].sum() + 0.5, n[rows].sum() - k[rows].sum() + 0.5
        assert np.isclose(cal["lower"][b], beta.ppf(0.025, a, c))
        assert np.isclose(cal["upper"][b], beta.ppf(0.975, a, c))
    assert abs(cal["trials"].max() - cal["trials"].min()) <= 2 * n.max()


@needs["pandas"]
def test_l1_ratio_end_to_end(tmp_path, data, capsys):
    frame(data).to_csv(tmp_path / "t.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "t.csv", "--label", "label", "--features",
                          "age,dose,score", "--lam", "20", "--l1-ratio", "1", "--out",
                          tmp_path / "m.json")
    assert code == 0, err
    doc, params = model_params(tmp_path / "m.json")
    ref = fastlogit.fit(data["X"], y=data["y"], lam=20.0, l1_ratio=1.0)
    np.testing.assert_allclose(params, np.r_[ref.intercept, ref.coef], rtol=1e-10, atol=1e-12)
    assert doc["settings"]["l1_ratio"] == 1.0
    assert "standard errors unavailable" in out  # no Hessian for L1 fits


# -- the toy demo ----------------------------------------------------------------------------

def flat(text):
    """Text with every run of whitespace (line wraps included) made one space."""
    return " ".join(text.split())


def _table_row(out, label):
    line = next(ln for ln in out.splitlines() if ln.startswith(label))
    return np.array(line.split()[-3:], dtype=float)  # loss, w0, w1


@needs["sklearn"]
def test_toy_separable_from_a_pipe(tmp_path):
    """The seed's toy set is separated: no MLE; the regularised fit equals scikit-learn C=1."""
    from sklearn.linear_model import LogisticRegression

    args = ["demo", "--toy"] + (["--plot", tmp_path / "toy.png"] if HAS["matplotlib"] else [])
    proc = run(*args, input="0.5,0\n2.5,1\n1.0,0\n3.0,1\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "No maximum likelihood estimate" in out and "separated" in flat(out)
    assert "lam=1" in out and "grow without bound" in flat(out)
    x, y = np.array([[0.5], [2.5], [1.0], [3.0]]), np.array([0, 1, 0, 1])
    clf = LogisticRegression(C=1.0, tol=1e-12).fit(x, y)
    for label in ("gradient descent", "L-BFGS-B", "Newton"):
        _, w0, w1 = _table_row(out, label)
        np.testing.assert_allclose([w0, w1], [clf.intercept_[0], clf.coef_[0, 0]], atol=2e-6)
    if HAS["matplotlib"]:
        assert (tmp_path / "toy.png").read_bytes()[:4] == b"\x89PNG"


@needs["statsmodels"]
def test_toy_overlapping_points_fit_the_mle(monkeypatch, capsys):
    import statsmodels.api as sm

    x = np.array([0.5, 2.5, 1.0, 3.0, 1.5, 2.0, 0.8, 2.2])
    y = np.array([0, 1, 1, 0, 0, 1, 0, 1])
    text = "x,label\n# a comment\n" + "".join(f"{a} {b}\n" for a, b in zip(x, y))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text + "\n9,9\n"))  # stops at the blank
    code, out, err = call(capsys, "demo", "--toy")
    assert code == 0, err
    assert "8 points" in out and "estimate exists" in flat(out) and "lam=0" in out
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    for label in ("gradient descent", "L-BFGS-B", "Newton"):
        loss, w0, w1 = _table_row(out, label)
        np.testing.assert_allclose([w0, w1], ref.params, atol=2e-6)
        np.testing.assert_allclose(loss, -ref.llf, rtol=1e-7)


@pytest.mark.parametrize("text, expected", [
    ("0.5,0\n1.5,2\n", "line 2 of the input: the label must be 0 or 1, got '2'"),
    ("0.5,0\nabc,1\n", "line 2 of the input: the feature value must be a number"),
    ("0.5\n", "line 1 of the input: expected 'feature_value,label'"),
    ("", "no points given"),
])
def test_toy_bad_input_from_a_pipe(text, expected, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, err = call(capsys, "demo", "--toy")
    assert code == 1
    assert err.startswith(f"fastlogit: error: {expected}") and err.count("\n") == 1, err


def test_toy_single_class_says_why(monkeypatch, capsys):
    """The intercept is not penalised: no lam gives a finite fit to one class."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("1,1\n2,1\n3,1\n"))
    code, out, err = call(capsys, "demo", "--toy")
    assert code == 1 and err.count("\n") == 1
    assert "every label is 1" in err and "both classes" in err


def test_toy_single_x_value_is_regularised(monkeypatch, capsys):
    """Both classes at one x: w1 is not identifiable without the penalty, fine with it."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("2,1\n2,0\n2,1\n"))
    code, out, err = call(capsys, "demo", "--toy")
    assert code == 0, err
    assert "not identifiable" in flat(out) and "lam=1" in out
    loss, w0, w1 = _table_row(out, "Newton")
    # dF/dw1 = 2 * dF/dw0 + lam w1 and dF/dw0 = 0 at the optimum, so w1 = 0 and w0 = log 2
    np.testing.assert_allclose([w0, w1], [np.log(2.0), 0.0], atol=1e-6)
    assert "w1 = 0: P(label = 1 | x) = 0.6667 whatever x" in out


# -- the synthetic demo ----------------------------------------------------------------------

def test_demo_small_runs():
    proc = run("demo", "--rows", "3000", "--features", "300", "--nnz", "6")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "3,000 rows x 300 features" in out and "converged" in out
    assert "correlation" in out and "RMSE" in out


@needs["sklearn"]
def test_demo_compare_small(capsys):
    code, out, err = call(capsys, "demo", "--rows", "2000", "--features", "100", "--nnz", "5",
                          "--compare", "--libraries", "fastlogit,scikit-learn")
    assert code == 0, err
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines()
            if ln.startswith(("fastlogit ", "scikit-learn "))}
    assert set(rows) == {"fastlogit", "scikit-learn"}, out
    # columns: prep, fit, peak MB, iters, F, relative gap, max |coef diff|
    assert float(rows["scikit-learn"][6]) < 1e-8  # the same optimum
    assert float(rows["scikit-learn"][7]) < 1e-4
    assert float(rows["fastlogit"][7]) < 1e-8  # its subprocess fit equals this one


def test_demo_compare_unknown_library(capsys):
    code, _, err = call(capsys, "demo", "--compare", "--libraries", "statsmodels")
    assert code == 1 and "unknown 'statsmodels'" in err


# -- the examples ----------------------------------------------------------------------------

@needs["sklearn"]
@pytest.mark.parametrize("script, args", [
    ("binomial_without_expansion.py", []),
    ("logistic_regression_from_scratch.py", ["--plot", "fs.png"]),
    ("newton_vs_lbfgs.py", ["--plot", "nl.png"]),
    ("softmax_multiclass.py", []),
])
def test_examples_run_and_agree_with_sklearn(script, args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env["OMP_NUM_THREADS"] = "1"  # small problems: thread wake-ups would dominate
    if not HAS["matplotlib"]:
        args = ["--plot", ""] if args else []
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--small", *args],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "agree" in proc.stdout and "DISAGREE" not in proc.stdout
    if args and args[1]:
        assert (tmp_path / args[1]).read_bytes()[:4] == b"\x89PNG"
