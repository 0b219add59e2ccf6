"""Sequence to sequence: gradients of every option, masks, decoding, training, files and the CLI."""
import json

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.gradcheck import numerical_gradient
from lstmkit.seq2seq import Seq2Seq, Vocabulary, make_batch
from lstmkit.seq2seq import tasks as T
from lstmkit.seq2seq.attention import BahdanauAttention
from lstmkit.seq2seq.data import read_pairs
from lstmkit.seq2seq.decoding import ModelStepper, beam_search, greedy, sequence_score, translate
from lstmkit.seq2seq.saving import load
from lstmkit.seq2seq.vocabulary import BOS, EOS
from lstmkit.training import config as C
from lstmkit.training.seq2seq import Seq2SeqTask
from lstmkit.training.trainer import fit

TOL = 1e-5            # per parameter array (see _fd_errors); a wrong term gives errors near 1
SRC = Vocabulary.build(["abcd"])
TGT = Vocabulary.build(["xyz"])
# mixed lengths on both sides, one empty target (the decoder predicts <eos> at once)
MIXED = make_batch([SRC.ids(s) for s in ("abca", "db", "c")], [TGT.ids(t) for t in ("xy", "zzxy", "")])

OPTION_CASES = [
    dict(attention="none"),
    dict(attention="none", bidirectional=True, num_layers=2),                 # bridge 2H -> H
    dict(attention="none", cell_options={"peepholes": True}),
    dict(attention="dot"),
    dict(attention="dot", input_feeding=True, num_layers=2),
    dict(attention="general", bidirectional=True, input_feeding=True),
    dict(attention="general", bridge=True),                                   # a bridge between equal sizes
    dict(attention="general", embedding="onehot"),
    dict(attention="bahdanau"),
    dict(attention="bahdanau", attention_size=2, input_feeding=True),
    dict(attention="bahdanau", bidirectional=True, num_layers=2, input_feeding=True),
]


def _model(seed=1, scale=0.8, **opts):
    m = Seq2Seq(SRC, TGT, hidden_size=3, embed_size=2, seed=seed, **opts)
    m.flat[:] = np.random.default_rng(seed + 1).normal(size=m.flat.size) * scale   # away from init's small weights
    return m


def _fd_errors(model, batch, per_param=8, seed=0, reduction="mean"):
    """{parameter: relative error} of the analytic gradient against central differences (float64).

    Up to ``per_param`` random entries of *every* parameter array are checked. Error per array =
    max|num - ana| / max(max|num| + max|ana| of the array, 1e-3 x the largest gradient of the model), so an
    array whose gradient is tiny is not judged on rounding noise alone.
    """
    rng = np.random.default_rng(seed)
    model.loss(batch, reduction)
    model.backward()
    ana = model.grad_flat.copy()
    idx = np.concatenate([rng.choice(np.arange(s.start, s.stop), size=min(per_param, s.stop - s.start), replace=False)
                          for s in model._params.slices.values()])
    num = numerical_gradient(lambda: model.loss(batch, reduction), model.flat, indices=idx)
    floor = 1e-3 * np.abs(num[idx]).max()
    out = {}
    for name, s in model._params.slices.items():
        sel = idx[(idx >= s.start) & (idx < s.stop)]
        scale = max(np.abs(num[sel]).max() + np.abs(ana[sel]).max(), floor)
        out[name] = float(np.abs(num[sel] - ana[sel]).max() / scale)
    return out


@pytest.mark.parametrize("opts", OPTION_CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_gradients_of_every_parameter_by_finite_differences(opts):
    m = _model(**opts)
    err = _fd_errors(m, MIXED)
    expected = {"att.W_a"} if opts["attention"] == "general" else set()
    assert expected <= set(err)
    if opts.get("bidirectional") or opts.get("bridge"):
        assert {"bridge.W_h", "bridge.W_c"} <= set(err)
    assert max(err.values()) < TOL, {k: v for k, v in err.items() if v >= TOL}


def test_gradient_check_fails_on_a_wrong_gradient(monkeypatch):
    """The check is sharp: a missing term, and even a gradient 0.1% too large, are caught."""
    m = _model(attention="bahdanau")
    original = BahdanauAttention._scores_backward

    def no_dv(self, params, K, cache, de, grads):
        saved = grads["v"].copy()
        out = original(self, params, K, cache, de, grads)
        grads["v"][...] = saved                                   # drop v's gradient
        return out

    monkeypatch.setattr(BahdanauAttention, "_scores_backward", no_dv)
    assert _fd_errors(m, MIXED)["att.v"] > 0.1
    monkeypatch.undo()
    real_backward = Seq2Seq.backward

    def scaled(self):
        real_backward(self)
        self._parts["out"].grads["b"] *= 1.001

    monkeypatch.setattr(Seq2Seq, "backward", scaled)
    assert _fd_errors(m, MIXED)["out.b"] > TOL


def test_padded_batch_equals_sequences_one_at_a_time():
    m = _model(attention="bahdanau", bidirectional=True, input_feeding=True, num_layers=2)
    srcs, tgts = [SRC.ids(s) for s in ("abcab", "d", "ca")], [TGT.ids(t) for t in ("x", "zyxzy", "yy")]
    total = m.loss(make_batch(srcs, tgts), reduction="sum")
    m.backward()
    g = m.grad_flat.copy()
    parts, gs = 0.0, np.zeros_like(g)
    for s, t in zip(srcs, tgts):
        parts += m.loss(make_batch([s], [t]), reduction="sum")
        m.backward()
        gs += m.grad_flat
    assert total == pytest.approx(parts, rel=1e-12)
    np.testing.assert_allclose(g, gs, atol=1e-12)
    # decoding is batch-independent too
    batched = translate(m, srcs, max_len=6)
    for s, h in zip(srcs, batched):
        alone = translate(m, [s], max_len=6)[0]
        assert alone.tokens == h.tokens and alone.score == pytest.approx(h.score, abs=1e-10)
        a = h.attention_matrix()                                   # (steps, longest source): zero past its end
        np.testing.assert_allclose(alone.attention_matrix(), a[:, : len(s)], atol=1e-12)
        assert np.all(a[:, len(s):] == 0)


def test_attention_weights_are_distributions_over_real_positions():
    m = _model(attention="general")
    h = translate(m, [SRC.ids("abc")], max_len=5)[0]
    a = h.attention_matrix()
    assert a.shape == (h.length, 3)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    enc = m.encode_ids([SRC.ids("abcd"), SRC.ids("ab")])
    _, _, w = m.step(np.full(2, BOS), m.start(enc), enc)
    assert np.all(w[1, 2:] == 0) and w[1, :2].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("attention", ["none", "general", "bahdanau"])
def test_beam_width_one_is_greedy(attention):
    m = _model(seed=3, scale=1.5, attention=attention)
    for s in ("abc", "dcba", "a", "bbbd"):
        src = SRC.ids(s)
        g = translate(m, [src], max_len=7)[0]
        b = translate(m, [src], beam=1, max_len=7)[0]     # translate's beam=1 is the batched greedy
        b1 = beam_search(ModelStepper(m, m.encode_ids([src])), 1, 7)
        assert b1.tokens == g.tokens and b1.ended == g.ended and b1.score == pytest.approx(g.score, abs=1e-10)
        assert b.tokens == g.tokens
        if g.ended:
            assert sequence_score(m, src, g.tokens) == pytest.approx(g.score, abs=1e-10)


class _TrapStepper:
    """p(a) = .6, p(b) = .4 first; after a: p(<eos>) = .4, p(a) = p(b) = .3; after b: p(<eos>) = .9.

    Greedy takes a, then <eos>: p = .24. The best answer is b <eos>: p = .36.
    """

    A, B = 3, 4

    class State:
        def __init__(self, last):
            self.last = np.asarray(last)

        def select(self, idx):
            return _TrapStepper.State(self.last[idx])

    def start(self):
        return self.State([BOS])

    def step(self, tokens, state):
        p = np.full((len(tokens), 5), 1e-9)
        for r, t in enumerate(tokens):
            if t == BOS:
                p[r, [self.A, self.B]] = (0.6, 0.4)
            elif t == self.A:
                p[r, [EOS, self.A, self.B]] = (0.4, 0.3, 0.3)
            else:
                p[r, [EOS, self.A, self.B]] = (0.9, 0.05, 0.05)
        return np.log(p / p.sum(axis=1, keepdims=True)), self.State(tokens), None


def test_beam_search_beats_greedy_on_a_trap():
    g = greedy(_TrapStepper(), 1, 5)[0]
    b = beam_search(_TrapStepper(), 2, 5)
    assert g.tokens == [_TrapStepper.A] and g.score == pytest.approx(np.log(0.24), abs=1e-6)
    assert b.tokens == [_TrapStepper.B] and b.score == pytest.approx(np.log(0.36), abs=1e-6)
    assert beam_search(_TrapStepper(), 1, 5).tokens == g.tokens


def test_beam_search_scores_are_the_models_and_length_penalty_is_applied():
    m = _model(seed=5, scale=1.5, attention="dot")
    src = SRC.ids("abcd")
    for k, alpha in ((3, 0.0), (4, 1.0)):
        h = beam_search(ModelStepper(m, m.encode_ids([src])), k, 8, alpha)
        if h.ended:
            assert sequence_score(m, src, h.tokens) == pytest.approx(h.score, abs=1e-10)
        assert h.normalised(alpha) == pytest.approx(h.score / h.length ** alpha)
    with pytest.raises(ValueError, match="beam"):
        beam_search(ModelStepper(m, m.encode_ids([src])), 0, 8)


def test_tasks_make_what_they_say():
    rng = np.random.default_rng(0)
    for n in (3, 4, 7):
        s, t = T.addition_pair(rng, n)
        a, b = s.split("+")
        assert len(s) == n and int(a) + int(b) == int(t) and str(int(a)) == a and str(int(b)) == b
        s, t = T.reverse_pair(rng, n)
        assert t == s[::-1] and len(s) == n
        s, t = T.sort_pair(rng, n)
        assert t == "".join(sorted(s))
    table = T.accuracy_by_length([("ab", "ba"), ("abc", "cba"), ("abc", "cba")], ["ba", "cb", "cba"])
    assert table[2] == {"n": 1, "exact": 1.0, "token": 1.0}
    assert table[3]["exact"] == 0.5 and table[3]["token"] == pytest.approx((2 / 3 + 1) / 2)
    with pytest.raises(ValueError, match="reserved"):
        Vocabulary.build([["<eos>", "a"]])


def _pairs_file(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs))
    return path


def test_tiny_training_learns_to_reverse(tmp_path):
    rng = np.random.default_rng(0)
    data = _pairs_file(tmp_path / "rev.tsv", T.dataset("reverse", 1500, (3, 3), rng))
    cfg = C.resolve("seq2seq", flags={"data": str(data), "hidden_size": 32, "embed_size": 8, "lr": 0.01,
                                      "epochs": 6, "seed": 0}, in_memory=False)
    task = Seq2SeqTask(read_pairs(data), cfg)
    model = task.build_model()
    from lstmkit.training.common import build_optimizer

    result = fit(task, model, build_optimizer(cfg), cfg, np.random.default_rng([cfg.seed, 1]), progress=False)
    assert result.state.history[-1]["val_token_accuracy"] > 0.95
    test = T.dataset("reverse", 100, (3, 3), np.random.default_rng(1))
    hyps = translate(model, [task.source_vocab.ids(s) for s, _ in test])
    exact = np.mean([task.target_vocab.symbols(h.tokens) == list(t) for h, (_, t) in zip(hyps, test)])
    assert exact >= 0.95


def test_save_load_round_trip(tmp_path):
    m = _model(attention="bahdanau", bidirectional=True, input_feeding=True)
    m.save(tmp_path / "m")
    m2 = load(tmp_path / "m")
    np.testing.assert_array_equal(m.flat, m2.flat)
    assert m2.source_vocab == SRC and m2.target_vocab == TGT and m2.options == m.options
    srcs = [SRC.ids(s) for s in ("abcd", "ba")]
    for a, b in zip(translate(m, srcs, beam=3, max_len=6), translate(m2, srcs, beam=3, max_len=6)):
        assert a.tokens == b.tokens and a.score == b.score
    m.save(tmp_path / "m")                                       # replaces its own directory
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an lstmkit model directory"):
        m.save(tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    meta["sha256"] = "0" * 64
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="checksum"):
        load(tmp_path / "m")


def test_cli_train_predict_and_resume(tmp_path, capsys):
    rng = np.random.default_rng(2)
    data = _pairs_file(tmp_path / "rev.tsv", T.dataset("reverse", 120, (2, 3), rng))
    new = _pairs_file(tmp_path / "new.tsv", T.dataset("reverse", 6, (2, 4), rng))
    args = ["train", "seq2seq", "--data", str(data), "--epochs", "3", "--hidden-size", "8", "--embed-size", "4",
            "--attention", "bahdanau", "--input-feeding", "--dtype", "float64", "--no-progress", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "exact match" in out and "by source length" in out
    assert main(["predict", str(tmp_path / "run"), "--input", str(new), "--beam", "2",
                 "--out", str(tmp_path / "p.csv"), "--plot", str(tmp_path / "a.png")]) == 0
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "line,source,prediction,log_prob,target,correct" and len(lines) == 7
    assert (tmp_path / "a.png").stat().st_size > 0

    # interrupted after its first epoch (the checkpoint is written before the epoch's line), then resumed:
    # the same final weights as the uninterrupted run
    from lstmkit.training.session import train as run_training

    cfg = C.resolve("seq2seq", flags={"data": str(data), "epochs": 3, "hidden_size": 8, "embed_size": 4,
                                      "attention": "bahdanau", "input_feeding": True, "dtype": "float64"})

    def stop(line):
        if line.startswith("epoch"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_training("seq2seq", cfg, out=tmp_path / "cut", progress=False, log=stop)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--no-progress", "--quiet"]) == 0
    np.testing.assert_array_equal(load(tmp_path / "cut" / "model").flat, load(tmp_path / "run" / "model").flat)

    import lstmkit                                               # lstmkit.load reads either kind of model
    assert isinstance(lstmkit.load(tmp_path / "run" / "model"), Seq2Seq)
    assert main(["plot", str(tmp_path / "run"), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert main(["inspect", str(tmp_path / "run"), "--input", str(new)]) == 2
    assert "--plot attention.png" in capsys.readouterr().err


@pytest.mark.parametrize("opt", ["recurrent_dropout=0.2", "zoneout_cell=0.1", "proj_size=4"])
def test_toolbox_options_the_decoder_cannot_take_are_refused(tmp_path, capsys, opt):
    data = _pairs_file(tmp_path / "rev.tsv", T.dataset("reverse", 40, (2, 3), np.random.default_rng(0)))
    assert main(["train", "seq2seq", "--data", str(data), "--epochs", "1", "--hidden-size", "8",
                 "--cell-option", opt, "--out", str(tmp_path / "r"), "--no-progress", "--quiet"]) == 2
    assert "seq2seq does not take " + opt.split("=")[0] in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_layer_norm_cells_in_seq2seq_have_checked_gradients():
    m = _model(attention="dot", cell_options={"layer_norm": True})
    err = _fd_errors(m, MIXED)
    assert {"enc.l0.ln_gx", "dec.l0.ln_gh", "dec.l0.ln_bc"} <= set(err)
    assert max(err.values()) < TOL, {k: v for k, v in err.items() if v >= TOL}


@pytest.mark.parametrize("content,message", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("abc cba\n", "line 1 has no tab"),
    ("ab\tba\nabc\tcb\ta\n", "line 2 has 2 tabs"),
    ("ab\t\n", "line 1 has an empty target"),
    ("\tba\n", "line 1 has an empty source"),
    ("ab\tba\n", "1 pair; training needs at least 2"),
    (b"\xff\xfe\x00a", "not UTF-8"),
])
def test_bad_data_files_exit_2_with_a_clear_message(tmp_path, capsys, content, message):
    f = tmp_path / "d.tsv"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc = main(["train", "seq2seq", "--data", str(f), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()                       # nothing half-made is left behind


def test_bad_options_and_predict_inputs_exit_2(tmp_path, capsys):
    data = _pairs_file(tmp_path / "d.tsv", [("ab", "ba"), ("abc", "cba"), ("b", "b")])
    for extra, message in ((["--attention", "dot", "--bidirectional"], "--attention dot"),
                           (["--input-feeding"], "needs attention"),
                           (["--tokens", "words", "--cell", "rnn"], "--cell"),
                           (["--cell-option", "variant=FGR"], "full gate recurrence")):
        assert main(["train", "seq2seq", "--data", str(data), "--no-progress"] + extra) == 2
        assert message in capsys.readouterr().err
    words = tmp_path / "w.tsv"
    words.write_text("a <eos>\tb\nc\td\n")
    assert main(["train", "seq2seq", "--data", str(words), "--tokens", "words", "--no-progress"]) == 2
    assert "reserved" in capsys.readouterr().err
    assert main(["train", "seq2seq", "--data", str(data), "--epochs", "1", "--hidden-size", "4",
                 "--out", str(tmp_path / "run"), "--no-progress", "--quiet"]) == 0
    (tmp_path / "x.txt").write_text("ab\nazc\n")
    assert main(["predict", str(tmp_path / "run"), "--input", str(tmp_path / "x.txt")]) == 2
    assert "line 2: symbol(s) ['z']" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "run"), "--input", str(data), "--plot", str(tmp_path / "a.png")]) == 2
    assert "no attention" in capsys.readouterr().err
