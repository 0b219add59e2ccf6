"""Sequence to sequence: an encoder-decoder LSTM with attention, teacher forcing, greedy and beam search.

``vocabulary``  symbols <-> ids with <pad>, <bos>, <eos>, built from data and saved with the model
``embedding``   learned or one-hot input vectors (registry ``EMBEDDINGS``)
``attention``   Luong's dot and general, Bahdanau's additive score, masked over padding (``ATTENTIONS``)
``batch``       padded time-major teacher-forcing batches
``model``       :class:`Seq2Seq`: encoder (lstmkit.network.LSTM), bridge, decoder (LSTMCell per step), loss, backward
``decoding``    greedy and beam-search decoding, both returning attention weights
``tasks``       reverse, sort and addition of symbol strings, with accuracy by length (registry ``TASKS``)
``data``        two-column (source TAB target) files
``saving``      the model directory (weights + config with both vocabularies)

Equations, papers and measured accuracy: docs/seq2seq.md.
"""
from .attention import ATTENTIONS
from .batch import Batch, make_batch
from .embedding import EMBEDDINGS
from .model import Seq2Seq
from .vocabulary import Vocabulary

__all__ = ["ATTENTIONS", "Batch", "EMBEDDINGS", "Seq2Seq", "Vocabulary", "make_batch"]
