"""The data layer of ``lstmkit train``: CSV reading, dates, windows and baselines, seasonality, text streams,
sequence files; plus hypothesis property tests that malformed files only ever raise the three error types
the CLI turns into one line (ValueError, TypeError, FileNotFoundError)."""
from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmkit.data import series as S
from lstmkit.data import text as TX
from lstmkit.data.scaling import Scaler
from lstmkit.data.sequences import load_sequences
from lstmkit.data.table import read_csv

from _train_data import sequences_csv, sequences_npz, series_csv

CLEAN = (ValueError, TypeError, FileNotFoundError)


def test_csv_rows_lines_and_numeric(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("\n a ; b \n1;2\n\n3;4\n\n\n")               # sniffed delimiter, blank inner line = gaps
    t = read_csv(p)
    assert t.header == ["a", "b"] and len(t) == 3 and t.lines == [3, 4, 5]
    with pytest.raises(ValueError, match=r"gap .* column 'a' at row 2 \(line 4\) and 1 more"):
        t.numeric(["a", "b"])
    assert np.isnan(t.numeric(["a"], allow_gaps=True)[1, 0])


def test_series_sorted_by_date_and_period_from_spacing(tmp_path):
    s = S.load_series(series_csv(tmp_path / "s.csv", n=48, shuffled=True), "y", ["x2"])
    assert s.dates == sorted(s.dates) and s.period_hint == 12 and "detected" in s.notes[0]
    daily = tmp_path / "d.csv"
    daily.write_text("ds,v\n" + "\n".join(f"2024-01-{d:02d},{d}" for d in range(1, 29)) + "\n")
    assert S.load_series(daily, "v").period_hint == 7


def test_detect_period():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    assert S.detect_period(5 + 0.05 * t + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.1, 400)) == 12
    assert S.detect_period(np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.1, 400)) == 7
    assert S.detect_period(rng.normal(size=400)) in range(1, 200)       # noise: whatever, but no crash
    assert S.detect_period(np.ones(50)) == 1


@given(N=st.integers(10, 80), W=st.integers(1, 10), H=st.integers(1, 5), V=st.integers(1, 20))
def test_split_origins_keep_targets_apart(N, W, H, V):
    try:
        sp = S.split_origins(N, W, H, V)
    except ValueError as e:
        assert "short" in str(e)
        return
    assert sp.n_train == N - V
    assert (sp.train + H <= sp.n_train - 1).all() and (sp.train - W + 1 >= 0).all()
    assert (sp.val + 1 >= sp.n_train).all() and (sp.val + H <= N - 1).all() and sp.val.size >= 1
    y = np.arange(N, dtype=float)
    assert np.array_equal(S.future(y, sp.val, H)[:, 0], sp.val + 1.0)
    assert S.windows(y[:, None], sp.train, W).shape == (W, sp.train.size, 1)


def test_baselines_exact_on_ideal_series():
    t = np.arange(60)
    seasonal = np.sin(2 * np.pi * t / 12)
    o = np.arange(30, 50)
    assert S.errors(S.seasonal_naive(seasonal, o, 5, 12), S.future(seasonal, o, 5))["rmse"] < 1e-12
    const = np.full(60, 3.0)
    assert S.errors(S.persistence(const, o, 5), S.future(const, o, 5)) == {"rmse": 0.0, "mae": 0.0}
    assert S.seasonal_naive(seasonal, np.array([3]), 2, 12) is None          # not a full season of history
    # lead 13 with period 12 reaches back one season from the origin's cycle
    np.testing.assert_array_equal(S.seasonal_naive(t.astype(float), np.array([30]), 13, 12)[0],
                                  list(range(19, 31)) + [19])


def test_scaler_fit_on_train_only():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [100.0, 5.0]])
    s = Scaler.fit(x[:2])
    assert np.allclose(s.mean, [2.0, 5.0]) and np.allclose(s.scale, [1.0, 1.0])   # constant column: scale 1
    assert np.allclose(s.inverse(s.transform(x)), x)
    assert Scaler.from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_text_streams_and_unigram():
    ids = np.arange(23)
    x, t = TX.streams(ids, 4)
    assert x.shape == t.shape == (5, 4) and np.array_equal(t, x + 1) and np.array_equal(x[:, 1], np.arange(5, 10))
    with pytest.raises(ValueError, match="too short"):
        TX.streams(np.arange(3), 4)
    assert TX.unigram_bpc(np.array([0, 1] * 50), np.array([0, 1] * 5), 2) == pytest.approx(1.0)
    oh = TX.one_hot(np.array([[2, 0]]), 3, np.float32)
    assert oh.shape == (1, 2, 3) and oh[0, 0, 2] == 1 and oh.sum() == 2
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        TX.encode("abz", ["a", "b"])


def test_sequence_files_agree(tmp_path):
    a = load_sequences(sequences_npz(tmp_path / "d.npz"))
    b = load_sequences(sequences_csv(tmp_path / "d.csv"))
    assert a.labels == b.labels and len(a) == len(b) == 60
    assert all(np.allclose(p, q, atol=1e-5) for p, q in zip(a.x, b.x))
    padded = tmp_path / "p.npz"
    np.savez(padded, x=np.ones((2, 4, 3)), lengths=np.array([4, 2]), y=np.array([1, 0]))
    s = load_sequences(padded)
    assert [x.shape for x in s.x] == [(4, 3), (2, 3)] and s.labels == ["1", "0"]
    uni = tmp_path / "u.npz"
    np.savez(uni, x=np.ones((3, 5)), y=np.array(["p", "q", "p"]))
    assert [x.shape for x in load_sequences(uni).x] == [(5, 1)] * 3
    obj = tmp_path / "o.npz"
    np.savez(obj, x=np.array([np.ones(2), np.ones(3)], dtype=object), y=np.array([0, 1]))
    with pytest.raises(ValueError, match="pickled"):
        load_sequences(obj)
    shuffled = tmp_path / "t.csv"                                 # rows of a sequence apart and out of order
    shuffled.write_text("id,time,f,label\nA,1,20,x\nB,0,5,y\nA,0,10,x\nB,1,6,y\n")
    s = load_sequences(shuffled)
    assert s.ids == ["A", "B"] and s.x[0][:, 0].tolist() == [10.0, 20.0]


cells = st.text(alphabet=string.printable + "é€", max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=4), max_size=8), date=st.booleans())
def test_csv_fuzz_only_clean_errors(tmp_path, rows, date):
    p = tmp_path / "f.csv"
    p.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    try:
        s = S.load_series(p, "y", [], "date" if date else None)
    except CLEAN as e:
        assert "\n" not in str(e).strip() and str(e)
        return
    assert np.isfinite(s.values).all()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_binary_garbage_only_clean_errors(tmp_path, data):
    for name in ("g.csv", "g.npz", "g.txt"):
        p = tmp_path / name
        p.write_bytes(data)
        try:
            if name.endswith(".txt"):
                TX.load_corpus(p)
            else:
                load_sequences(p)
        except CLEAN as e:
            assert str(e)


def test_fuzzer_findings_stay_fixed(tmp_path):
    """Inputs benchmarks/fuzz_loaders.py found: a zip member with an unknown compression method
    (NotImplementedError inside zipfile) and a quoted header name with a line break (a two-line message)."""
    import io

    buf = io.BytesIO()
    np.savez(buf, x=np.ones((2, 3, 1)), y=np.array([0, 1]))
    data = bytearray(buf.getvalue())
    central = bytes(data).index(b"PK\x01\x02")                 # central directory entry of the first member
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")   # its compression method: unknown
    p = tmp_path / "z.npz"
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged .npz archive"):
        load_sequences(p)
    c = tmp_path / "h.csv"
    c.write_text('"i\nd",time,f,label\na,0,1,x\n')
    with pytest.raises(ValueError) as e:
        load_sequences(c)
    assert "\n" not in str(e.value) and "'i\\nd'" in str(e.value)
