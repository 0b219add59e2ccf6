"""The research examples under examples/ that make a claim in REPRODUCTION.md: run them small."""
from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exp1_blocks_changes_only_the_number_of_blocks():
    ex = load("exp1_blocks")
    from lstmkit.experiments import EXPERIMENTS

    base = EXPERIMENTS["1-5"]
    e = ex.row("1-5", 5)
    assert e.net.blocks == 5 and e.net.out_gate_bias == (-1.0, -2.0, -3.0, -4.0, -1.0)
    assert e.id == base.id                                  # same trial seeds as `lstmkit reproduce 1-5`
    for field in ("task", "lr", "stop", "max_sequences", "update", "method", "selection"):
        assert getattr(e, field) == getattr(base, field), field
    assert ex.row("1-5", 3).net == base.net                 # 3 blocks is the paper's row itself


def test_exp1_blocks_five_blocks_solve_the_first_trial(capsys):
    # The full run's 1-5 trial 0 (3 blocks) is not solved within 100,000 sequences; with 5 blocks it is.
    assert load("exp1_blocks").main(["--blocks", "5", "--trials", "1"]) == 0
    line = capsys.readouterr().out.splitlines()[-1].split()
    assert line[:3] == ["5", "620", "1/1"], line


def test_trial_start_replays_a_trial_exactly():
    # trial_start's network and data stream, trained in order, end in the very weights run_trial kept.
    import numpy as np

    from lstmkit.experiments import EXPERIMENTS
    from lstmkit.experiments.trial import CHUNK, run_trial, trial_start
    from lstmkit.learn.rtrl1997 import RTRL1997

    exp = EXPERIMENTS["3a-1"].effective(True)
    rec = run_trial(exp, 0, 0, keep_model=True)
    model, train = trial_start(exp, 0, 0)
    learner = RTRL1997(model, lr=exp.lr, update=exp.update)
    n = 0
    while n < rec["sequences"]:
        b = train(CHUNK)
        for i in range(min(CHUNK, rec["sequences"] - n)):
            L = int(b.lengths[i])
            learner.train_sequence(b.x[:L, i], b.y[:L, i], b.target_mask[:L, i])
        n += CHUNK
    assert rec["sequences"] > CHUNK and np.array_equal(model.flat, rec["model"].flat)


def test_cell_states_2c_shows_both_cells_drifted_from_the_start():
    # 2c-2 trial 0 of the full run never learned: both cells end every sequence near |s| = 11, x or y alike.
    (r,) = load("cell_states").replay("2c-2", 0, 1000, 1000)
    assert r.sequences == 1000 and r.right == 0.0
    assert r.dw_layer < 1e-4 and r.dw_out > 1e-3  # outputs and output gates learn; little error reaches the cells
    assert (abs(r.mean) > 8).all() and (r.sd < 2).all(), r
    assert r.biases == {}                         # 2c has no bias weights


def test_cell_states_2c_norec_row_whose_cells_stay_near_zero():
    # The contrast: the same trial without recurrent connections keeps s(T) where h' passes error, and learns.
    (r,) = load("cell_states").replay("2c-2-norec", 0, 1000, 1000)
    assert r.sequences == 1000 and (abs(r.mean) < 2).all(), r
    assert r.dw_layer > 1e-3                      # error does reach the cells and input gates


def test_cell_states_3b_first_block_drifts_at_t_1000_not_at_t_100():
    import numpy as np

    # 3b-3 trial 0 (T = 1000, unsolved in the full run): block 1 (input-gate bias -1) ends its first
    # 1000 sequences far out on h, the same for both classes; in 3b-2 trial 0 (T = 100, solved) no cell
    # ends beyond |s| = 3.
    ex = load("cell_states")
    (r,) = ex.replay("3b-3", 0, 1000, 1000)
    assert r.sequences == 1000 and r.right == 0.0
    assert abs(r.mean[0]) > 10 and r.sd[0] < 1 and (abs(r.mean[1:]) < 3).all(), r
    assert np.allclose(r.biases["b_in"], [-1, -3, -5], atol=0.05), r     # the paper's drift remedy, in place
    (r,) = ex.replay("3b-2", 0, 1000, 1000)
    assert (abs(r.mean) < 3).all(), r


def test_cell_states_refuses_rows_it_cannot_replay():
    import pytest

    with pytest.raises(ValueError, match="sequential construction"):
        load("cell_states").online_row("2a")


def test_regularisers_changes_one_setting_per_run(tmp_path, monkeypatch):
    # docs/toolbox.md's table: every run differs from "none" by its one setting and nothing else.
    import json

    from _train_data import corpus

    monkeypatch.syspath_prepend(str(EXAMPLES))               # its example_data; no data of the extra is read
    ex = load("regularisers")
    data = corpus(tmp_path / "c.txt", n_words=300)

    def tiny(out, seed):
        return ["train", "text", "--data", str(data), "--hidden-size", "8", "--seq-len", "20", "--batch-size", "4",
                "--epochs", "1", "--patience", "0", "--seed", str(seed)]

    monkeypatch.setitem(ex.TASKS, "text", (tiny, 8, *ex.TASKS["text"][2:]))
    configs = {}
    for setting in ex.SETTINGS:
        best, end = ex.run_one("text", setting, 0, tmp_path / "runs")
        assert 0 < best <= end
        (run,) = (tmp_path / "runs" / "text").glob(f"{setting.replace(' ', '_').replace(',', '').replace('/', '')}/seed0")
        configs[setting] = json.loads((run / "config.json").read_text())
    base = configs.pop("none")
    for setting, cfg in configs.items():
        diff = {k for k in base if cfg[k] != base[k]}
        opts, flags = ex.SETTINGS[setting]
        assert diff == ({"embedding_dropout"} if flags else {"cell_options"}), (setting, diff)
        if opts:
            want = {k: (4 if v == "half" else v) for k, v in opts.items()}
            assert cfg["cell_options"] == {**base["cell_options"], **want}


def test_seq2seq_tasks_quick_trains_scores_and_writes_nothing(capsys):
    # docs/seq2seq.md's table comes from this script; --quick runs the same path on little data.
    before = (EXAMPLES.parent / "docs" / "seq2seq.md").read_text()
    assert load("seq2seq_tasks").main(["--quick", "--tasks", "reverse"]) == 0
    out = capsys.readouterr().out
    assert "| source length | reverse, no attention | reverse, attention |" in out and "| 12 |" in out
    assert (EXAMPLES.parent / "docs" / "seq2seq.md").read_text() == before
