"""Tests of the hogmf Python package against the CLI (the same model file byte for byte) and
against references computed here in float64 (predictions, RMSE, top-N, a planted matrix).
Run by `make check-python`, which builds the extension and sets HOGMF to the CLI binary."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import hogmf

HOGMF = os.environ.get("HOGMF", os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                             "hogmf"))


# Under `make asan` the CLI is built with -O1 and sanitizers, the extension as always: their
# floating point differs in the last bits, so byte equality is checked only between like
# builds and the models are compared to a tolerance otherwise.
SAME_BUILD = not os.environ.get("HOGMF_SANITIZER")


def assert_same_model(py_path, cli_path):
    if SAME_BUILD:
        assert py_path.read_bytes() == cli_path.read_bytes()
        return
    a, b = hogmf.load(py_path), hogmf.load(cli_path)
    assert list(a.user_ids) == list(b.user_ids) and list(a.item_ids) == list(b.item_ids)
    np.testing.assert_allclose(a.user_factors, b.user_factors, atol=1e-4)
    np.testing.assert_allclose(a.item_factors, b.item_factors, atol=1e-4)


def cli(*args, **kw):
    return subprocess.run([HOGMF, *map(str, args)], check=True, capture_output=True, text=True,
                          **kw)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A synthetic set from `hogmf gen` (header, timestamps) and a second one to validate on."""
    d = tmp_path_factory.mktemp("data")
    cli("gen", "--users", 300, "--items", 200, "--ratings", 6000, "--seed", 3, "-o",
        d / "train.csv")
    cli("gen", "--users", 300, "--items", 200, "--ratings", 1500, "--seed", 4, "-o",
        d / "valid.csv")
    return d


def columns(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2]


def reference_predict(mf, users, items):
    """mu + b_u + b_i + p_u . q_i in float64 from the model's arrays, clipped."""
    info = mf.info
    uidx = {u: j for j, u in enumerate(mf.user_ids)}
    iidx = {i: j for j, i in enumerate(mf.item_ids)}
    P, Q = mf.user_factors.astype(np.float64), mf.item_factors.astype(np.float64)
    bu, bi = mf.user_biases.astype(np.float64), mf.item_biases.astype(np.float64)
    out = []
    for u, i in zip(users, items):
        r = info["mu"]
        ju, ji = uidx.get(u), iidx.get(i)
        if ju is not None:
            r += bu[ju]
        if ji is not None:
            r += bi[ji]
        if ju is not None and ji is not None:
            r += P[ju] @ Q[ji]
        out.append(min(max(r, info["rmin"]), info["rmax"]))
    return np.array(out)


# ---------------------------------------------------------------- defaults and the model file

def test_defaults_are_the_cli_defaults():
    help_text = cli("train", "--help").stdout
    d = hogmf.defaults()
    assert "latent factors [%d]" % d["k"] in help_text
    assert "maximum epochs [%d]" % d["epochs"] in help_text
    assert "learning rate (of the first epoch) [%g]" % d["lr"] in help_text
    assert "random seed [%d]" % d["seed"] in help_text
    assert hogmf.MF().params == d


def test_model_file_is_byte_identical_to_the_cli(data, tmp_path):
    opts = dict(k=8, epochs=6, threads=1, seed=7, reg=0.05, lr=0.01)
    cli("train", "-q", "-k", 8, "-e", 6, "-t", 1, "-s", 7, "--reg", 0.05, "--lr", 0.01,
        "--validate", data / "valid.csv", "-o", tmp_path / "cli.bin", data / "train.csv")
    mf = hogmf.MF(**opts).fit(*columns(data / "train.csv"), valid=columns(data / "valid.csv"))
    mf.save(tmp_path / "py.bin")
    assert_same_model(tmp_path / "py.bin", tmp_path / "cli.bin")
    assert len(mf.history) == mf.info["epochs_run"]


def test_string_ids_model_is_byte_identical_and_speaks_names(tmp_path):
    rng = np.random.default_rng(5)
    u = rng.integers(0, 80, 3000)
    i = rng.integers(0, 40, 3000)
    r = (1 + (u * 7 + i * 3) % 5).astype(np.float64)
    names_u = np.array(["AX%d" % x for x in u])           # NumPy unicode
    names_i = np.array(["B%04d" % x for x in i], dtype=object)  # objects
    with open(tmp_path / "s.csv", "w") as f:
        f.write("when,reviewer,score,asin\n")
        for a, b, c in zip(names_u, names_i, r):
            f.write("1,%s,%g,%s\n" % (a, c, b))
    cli("train", "-q", "-k", 4, "-e", 3, "-t", 1, "--ids", "string", "--columns",
        "reviewer,asin,score", "-o", tmp_path / "cli.bin", tmp_path / "s.csv")
    mf = hogmf.MF(k=4, epochs=3, threads=1).fit(names_u, names_i, r)
    mf.save(tmp_path / "py.bin")
    assert_same_model(tmp_path / "py.bin", tmp_path / "cli.bin")
    assert set(mf.user_ids) == set(names_u)
    # The CLI reads the Python model's names: recommend and predict print them.
    out = cli("recommend", "-q", tmp_path / "py.bin", "--user", "AX3", "-n", 2).stdout.split()
    items, scores = mf.recommend("AX3", n=2)
    assert out[0::3] == ["AX3", "AX3"] and out[1::3] == list(items)
    np.testing.assert_allclose([float(x) for x in out[2::3]], scores, rtol=1e-5)
    got = mf.predict(["AX3", "nobody"], ["B0001", "B0001"])
    np.testing.assert_allclose(got, reference_predict(mf, ["AX3", "nobody"], ["B0001"] * 2),
                               rtol=1e-5)


def test_load_cli_model_predicts_as_the_formula(data, tmp_path):
    cli("train", "-q", "-k", 6, "-e", 4, "-o", tmp_path / "m.bin", data / "train.csv")
    mf = hogmf.load(tmp_path / "m.bin")
    u, i, _ = columns(data / "valid.csv")
    u, i = np.append(u, 99999), np.append(i, 3)  # an unknown user: mu + b_i
    got = mf.predict(u, i)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == u.shape
    ref = reference_predict(mf, u, i)
    err = np.abs(got - ref).max()
    assert err < 1e-5, "max difference %g" % err


# ---------------------------------------------------------------- using a model

def test_evaluate_recommend_and_arrays(data):
    u, i, r = columns(data / "train.csv")
    mf = hogmf.MF(k=8, epochs=5, threads=1).fit(u, i, r)
    vu, vi, vr = columns(data / "valid.csv")
    res = mf.evaluate(vu, vi, vr)
    pred = reference_predict(mf, vu, vi)
    assert abs(res["rmse"] - np.sqrt(np.mean((pred - vr) ** 2))) < 1e-5
    assert abs(res["mae"] - np.mean(np.abs(pred - vr))) < 1e-5
    assert mf.user_factors.shape == (len(mf.user_ids), 8)
    assert mf.item_factors.shape == (len(mf.item_ids), 8)
    seen = i[u == u[0]]
    items, scores = mf.recommend(u[0], n=5, exclude=seen)
    all_items = np.array([x for x in mf.item_ids if x not in set(seen)])
    ref = reference_predict(mf, np.full(len(all_items), u[0]), all_items)
    best = all_items[np.argsort(-ref, kind="stable")][:5]
    assert list(items) == list(best)
    assert np.all(np.diff(scores) <= 0)
    assert not set(items) & set(seen)
    with pytest.raises(KeyError):
        mf.recommend(123456)


def test_pandas_columns(data):
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(data / "train.csv")
    a = hogmf.MF(k=4, epochs=2, threads=1).fit(df.userId, df.movieId, df.rating)
    b = hogmf.MF(k=4, epochs=2, threads=1).fit(*columns(data / "train.csv"))
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    df["user"] = "u" + df.userId.astype(str)
    c = hogmf.MF(k=4, epochs=2, threads=1).fit(df.user, df.movieId, df.rating)
    assert c.user_ids[0].startswith("u")
    assert c.predict(df.user[:3], df.movieId[:3]).shape == (3,)


def test_history_callback_and_stop(data):
    seen = []

    def cb(stats):
        seen.append(stats["epoch"])
        return stats["epoch"] == 2  # True stops

    mf = hogmf.MF(k=4, epochs=20, threads=1, callback=cb).fit(*columns(data / "train.csv"))
    assert seen == [1, 2] and mf.stopped and len(mf.history) == 2
    assert mf.history[1]["train_rmse"] < mf.history[0]["train_rmse"]

    def boom(stats):
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        hogmf.MF(k=4, epochs=5, callback=boom).fit(*columns(data / "train.csv"))


def test_ctrl_c_stops_training_cleanly(data):
    code = """
import sys, numpy as np, hogmf
a = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
def cb(s):
    print("epoch", s["epoch"], flush=True)
try:
    hogmf.MF(k=64, epochs=100000, threads=1, callback=cb).fit(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2])
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""
    p = subprocess.Popen([sys.executable, "-c", code, str(data / "train.csv")],
                         stdout=subprocess.PIPE, text=True, env=os.environ)
    assert p.stdout.readline().startswith("epoch 1")
    p.send_signal(signal.SIGINT)
    t0 = time.time()
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and out.rstrip().endswith("interrupted"), out
    assert time.time() - t0 < 30


def test_errors_carry_the_library_message(data):
    u, i, r = columns(data / "train.csv")
    with pytest.raises(hogmf.HogmfError, match="learning rate") as e:
        hogmf.MF(lr=1000, epochs=5, patience=0).fit(u, i, r)
    assert e.value.status == "HOGMF_ERR_DIVERGED"
    bad = r.copy()
    bad[3] = np.nan
    with pytest.raises(hogmf.HogmfError, match=r"ratings\[3\]: rating"):
        hogmf.MF(epochs=1).fit(u, i, bad)
    with pytest.raises(TypeError, match="users: expected integer or string ids, found float64"):
        hogmf.MF(epochs=1).fit(u.astype(float), i, r)
    with pytest.raises(ValueError, match=r"users\[0\]"):
        hogmf.MF(epochs=1).fit(-u - 1, i, r)
    with pytest.raises(hogmf.HogmfError, match=r"factors: expected 1\.\.65536, found 0"):
        hogmf.MF(k=0, epochs=1).fit(u, i, r)
    with pytest.raises(hogmf.HogmfError, match="train.csv: not a valid hogmf model: wrong magic"):
        hogmf.load(data / "train.csv")
    with pytest.raises(hogmf.HogmfError, match="nothing.bin: cannot open"):
        hogmf.load(data / "nothing.bin")


# ---------------------------------------------------------------- dense matrices

def planted(m=30, n=20, seed=1):
    rng = np.random.default_rng(seed)
    x = np.outer(rng.uniform(1, 2, m), rng.uniform(1, 2, n))  # rank 1
    missing = rng.random((m, n)) < 0.25
    return x.astype(np.float32), missing


def test_impute_recovers_a_planted_matrix():
    x, missing = planted()
    for arg, given in ((np.nan, np.where(missing, np.nan, x)),
                       (-1.0, np.where(missing, -1.0, x)),
                       (missing, np.where(missing, 0.0, x))):
        out = hogmf.impute(given, missing=arg)
        assert isinstance(out, np.ndarray) and out.shape == x.shape
        np.testing.assert_array_equal(out[~missing], x[~missing])
        err = np.abs(out[missing] - x[missing]).max()
        assert err < 0.1, "max error %g on the missing cells" % err


def test_impute_matches_the_cli(tmp_path):
    x, missing = planted(12, 9, seed=2)
    with open(tmp_path / "m.csv", "w") as f:
        for row, miss in zip(x, missing):
            f.write(",".join("" if mm else "%.9g" % v for v, mm in zip(row, miss)) + "\n")
    cli("impute", "-q", "-k", 1, "--digits", 9, "-o", tmp_path / "out.csv", tmp_path / "m.csv")
    ref = np.loadtxt(tmp_path / "out.csv", delimiter=",")
    tol = 1e-7 if SAME_BUILD else 1e-4
    got = hogmf.impute(np.where(missing, np.nan, x), k=1)
    np.testing.assert_allclose(got, ref, rtol=tol)
    # Without k both choose it by the library's cross-validation: the same k, the same cells.
    run = subprocess.run([HOGMF, "impute", "--digits", "9", "-o", str(tmp_path / "out2.csv"),
                          str(tmp_path / "m.csv")], check=True, capture_output=True, text=True)
    k_cli = int(re.search(r"\(k=(\d+)\)", run.stderr).group(1))
    got = hogmf.impute(np.where(missing, np.nan, x))
    assert hogmf.impute.last.params["k"] == k_cli
    np.testing.assert_allclose(got, np.loadtxt(tmp_path / "out2.csv", delimiter=","), rtol=tol)


def test_fit_matrix_and_mask():
    x, missing = planted()
    mf = hogmf.MF(k=1, epochs=300, lr=0.05, reg=0.001, schedule_lr="constant",
                  threads=1).fit_matrix(x, mask=~missing)
    assert mf.user_factors.shape == (30, 1) and mf.item_factors.shape == (20, 1)
    rows, cols = np.nonzero(missing)
    err = np.abs(mf.predict(rows, cols) - x[rows, cols]).max()
    assert err < 0.1, "max error %g" % err
