"""Loading users' data: CSV tables, time series, text corpora, labelled sequences; scaling.

Everything here validates as it reads and says where a problem is (file, row, line, column).
"""
from .scaling import Scaler
from .sequences import Sequences, load_sequences, pad
from .series import Series, load_series
from .table import Table, read_csv
from .text import build_vocab, encode, load_corpus

__all__ = ["Scaler", "Sequences", "Series", "Table", "build_vocab", "encode", "load_corpus", "load_sequences",
           "load_series", "pad", "read_csv"]
