"""Size fields of the training configs are checked under their own flag names and limits (lstmkit._validate.MAX_SIZE,
MAX_LAYERS for --num-layers),
before the probe cell that checks --cell-option could report them as its own."""
from __future__ import annotations

import pytest

from lstmkit import _validate as V
from lstmkit.cli import main
from lstmkit.training import config as C

HUGE = 1_000_000_000


@pytest.mark.parametrize("task, key, flag", [
    ("text", "hidden_size", "--hidden-size"), ("forecast", "hidden_size", "--hidden-size"),
    ("classify", "num_layers", "--num-layers"), ("classify", "batch_size", "--batch-size"),
    ("text", "batch_size", "--batch-size"), ("text", "seq_len", "--seq-len"),
    ("forecast", "window", "--window"), ("forecast", "horizon", "--horizon"), ("forecast", "season", "--season"),
])
def test_a_huge_size_names_its_own_flag(task, key, flag):
    flags = {"data": "d", key: HUGE, **({"target": "y"} if task == "forecast" else {})}
    limit = V.MAX_LAYERS if key == "num_layers" else V.MAX_SIZE
    with pytest.raises(ValueError) as e:
        C.resolve(task, {}, flags)
    assert str(e.value) == f"{flag}: expected an integer <= {limit}, got {HUGE}"
    C.resolve(task, {}, {**flags, key: limit})               # the limit itself is accepted


def test_the_cli_blames_hidden_size_not_cell_option(tmp_path, capsys):
    data = tmp_path / "c.txt"
    data.write_text("some text to learn from\n" * 20)
    assert main(["train", "text", "--data", str(data), "--hidden-size", str(HUGE), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lstmkit: error: --hidden-size: expected an integer <= {V.MAX_SIZE}") and "cell-option" not in err
    assert not (tmp_path / "r").exists()
