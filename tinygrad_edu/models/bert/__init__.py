"""BERT (Devlin et al., 2018): a Transformer *encoder* pretrained to fill in blanks, then reused.

The idea
--------
GPT reads left to right and predicts the next token.  BERT reads the whole sentence at once —
every token attends to every other token, left and right — and is pretrained on a cloze task:
hide 15 % of the tokens and predict them from both sides (*masked language modelling*, MLM).
What it learns along the way (syntax, word senses, facts) sits in its hidden states, so the same
network, with a small new layer on top, is then *fine-tuned* for classification, named-entity
recognition, sentence embeddings…: that reuse is **transfer learning**.

The network, for input ids of shape (N, S) (N sentences of S tokens, H = hidden_size)::

    embeddings   x = LayerNorm(word[ids] + position[0..S-1] + token_type[segment])   (N, S, H)
    encoder      num_hidden_layers × BertLayer, each *post-LN* (normalise after adding):
                   a = LayerNorm(x + Dropout(Wₒ · MultiHeadSelfAttention(x, padding mask)))
                   x = LayerNorm(a + Dropout(W₂ · GELU(W₁ · a)))
    pooler       tanh(W_p · x[:, 0])        the [CLS] token's state, a summary of the sentence

Multi-head self-attention splits H into ``num_attention_heads`` heads of size d = H / heads; each
head computes ``softmax(q kᵀ / √d + mask) v`` (``nn.functional.scaled_dot_product_attention``).
Padding tokens (``attention_mask == 0``) get a huge negative number added to their scores, so no
query attends to them — but they still have hidden states of their own (ignore those).

Heads on top (the ``bert.`` prefix holds the encoder):

* ``BertForMaskedLM``: ``cls.predictions`` = dense → GELU → LayerNorm → a decoder to the
  vocabulary whose weight *is* the word-embedding matrix (weight tying) plus a per-token bias.
* ``BertForSequenceClassification``: dropout + ``classifier`` on the pooler output.
* ``BertForTokenClassification``: dropout + ``classifier`` on every token's hidden state (NER).

Every module and parameter has Hugging Face's name (``bert.encoder.layer.0.attention.self.query
.weight``…), so a Hugging Face ``model.safetensors`` loads directly: see ``from_pretrained``.
``mean_pooling`` + ``l2_normalize`` turn hidden states into sentence embeddings the way
sentence-transformers does (all-MiniLM-L6-v2 is a 6-layer, 384-wide BERT).

Where the parts live (every name is importable from here: ``models.bert.BertForMaskedLM``):

==================  =========================================================================
``config.py``       ``BertConfig`` (Hugging Face's ``config.json`` fields) and the output
                    dataclasses (``BertModelOutput``, ``MaskedLMOutput`` …)
``layers.py``       the building blocks: embeddings, self-attention, one encoder layer, the
                    encoder stack, the pooler, the masked-LM head's layers
``pretrained.py``   ``BertPreTrainedModel``: Hugging Face's initialisation, weight tying,
                    ``from_pretrained`` / ``save_pretrained``
``model.py``        ``BertModel`` (the bare encoder) and the task models built on it
``sentence.py``     ``mean_pooling``, ``l2_normalize``, ``sentence_embeddings``
==================  =========================================================================
"""
from .config import (CONFIG_NAME, IGNORE_INDEX, WEIGHTS_NAME, BertConfig,  # noqa: F401
                     BertModelOutput, MaskedLMOutput, SequenceClassifierOutput, TokenClassifierOutput)
from .layers import (BertAttention, BertEmbeddings, BertEncoder, BertIntermediate,  # noqa: F401
                     BertLayer, BertLMPredictionHead, BertOnlyMLMHead, BertOutput, BertPooler,
                     BertPredictionHeadTransform, BertSelfAttention, BertSelfOutput)
from .model import (BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification,
                    BertModel)
from .pretrained import BertPreTrainedModel
from .sentence import l2_normalize, mean_pooling, sentence_embeddings

__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification",
           "BertForTokenClassification", "BertPreTrainedModel", "BertModelOutput", "MaskedLMOutput",
           "SequenceClassifierOutput", "TokenClassifierOutput", "mean_pooling", "l2_normalize",
           "sentence_embeddings"]
