"""``BertModel``, the bare encoder (embeddings → encoder → pooler), and the task models that put a
head on it: ``BertForMaskedLM`` (pretraining), ``BertForSequenceClassification`` and
``BertForTokenClassification`` (NER), with their losses.

The layers they are built from are in ``layers.py``; loading and saving, in ``pretrained.py``.
"""
import numpy as np

from ... import nn
from ...backend import array_module
from ...nn import functional as F
from ...tensor import Tensor
from .config import (IGNORE_INDEX, BertConfig, BertModelOutput, MaskedLMOutput, SequenceClassifierOutput,
                     TokenClassifierOutput)
from ..head_mask import layer_head_masks
from .layers import BertEmbeddings, BertEncoder, BertOnlyMLMHead, BertPooler, _mask_array
from .pretrained import BertPreTrainedModel


def _padding_bias(attention_mask, batch, length, dtype, xp):
    """The (N, 1, 1, S) additive mask: 0 where a key may be attended to, the most negative float
    where it is padding.  Added to every head's scores, it makes softmax give padding a weight of
    exactly 0 (exp(min - max) underflows), and a row with no real key gets uniform weights instead
    of NaN (Hugging Face's "extended attention mask")."""
    mask = _mask_array("BertModel", attention_mask, (batch, length), xp)
    bias = (1 - mask.astype(dtype)) * np.finfo(dtype).min
    return Tensor._wrap(bias[:, None, None, :])


class BertModel(BertPreTrainedModel):
    """The bare encoder: ``embeddings`` → ``encoder`` → ``pooler`` (omitted with
    ``add_pooling_layer=False``, as in Hugging Face's MLM and token-classification models).

    ``forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
    output_attentions=False, output_hidden_states=False)`` → ``BertModelOutput``.  Inputs are
    integer Tensors, arrays or lists of shape (N, S); ``attention_mask`` is 1 for real tokens and 0
    for padding.  ``head_mask`` (every model's last argument): Hugging Face's, (heads,) or
    (layers, heads), 1.0 keeps a head and 0.0 removes it (its probabilities are multiplied by it)."""

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"BertModel: config must be a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, head_mask=None):
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        bias = None
        if attention_mask is not None:
            xp = array_module(x.array)
            bias = _padding_bias(attention_mask, x.shape[0], x.shape[1], x.dtype, xp)
        masks = layer_head_masks("BertModel", head_mask, self.config.num_hidden_layers,
                                 self.config.num_attention_heads, x)
        x, hidden_states, attentions = self.encoder(x, bias, output_attentions, output_hidden_states, masks)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BertModelOutput(x, pooled, hidden_states, attentions)


def _as_labels(labels, like):
    """Labels as a Tensor on ``like``'s device."""
    if isinstance(labels, Tensor):
        return labels
    return Tensor._wrap(array_module(like.array).asarray(labels))


def _token_loss(logits, labels, num_classes):
    """Mean cross entropy over the tokens whose label is not -100."""
    target = _as_labels(labels, logits)
    if tuple(target.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"labels have shape {tuple(target.shape)}, expected {tuple(logits.shape[:-1])} "
                         "(one label per token, -100 for tokens to ignore)")
    return F.cross_entropy(logits.reshape(-1, num_classes), target.reshape(-1),
                           ignore_index=IGNORE_INDEX)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT's pretraining objective: predict the hidden tokens.  ``bert`` (no pooler) → ``cls``
    (the tied MLM head) → logits (N, S, vocab_size).  With ``labels`` (N, S) — the original token
    where one was masked, -100 elsewhere — ``loss`` is the mean cross entropy over masked tokens."""

    _tied_keys = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                  "cls.predictions.decoder.bias": "cls.predictions.bias"}

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.init_weights()

    def tie_weights(self):
        head = self.cls.predictions
        head.decoder.weight = self.bert.embeddings.word_embeddings.weight
        head.decoder.bias = head.bias

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False, head_mask=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, head_mask)
        logits = self.cls(out.last_hidden_state)
        loss = None if labels is None else _token_loss(logits, labels, self.config.vocab_size)
        return MaskedLMOutput(loss, logits, out.hidden_states, out.attentions)


class BertForSequenceClassification(BertPreTrainedModel):
    """Sentence (or sentence-pair) classification: ``bert`` → pooler output → ``dropout`` →
    ``classifier`` (H → num_labels).  ``loss`` as Hugging Face picks it: mean squared error when
    ``num_labels == 1`` (regression), cross entropy for integer labels, binary cross entropy with
    logits for float multi-hot labels (multi-label)."""

    def __init__(self, config, num_labels=2):
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"BertForSequenceClassification: num_labels must be a positive int, got "
                             f"{num_labels!r}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config)
        p = config.classifier_dropout if config.classifier_dropout is not None \
            else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False, head_mask=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, head_mask)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None if labels is None else self._loss(logits, labels)
        return SequenceClassifierOutput(loss, logits, out.hidden_states, out.attentions)

    def _loss(self, logits, labels):
        target = _as_labels(labels, logits)
        if self.num_labels == 1:
            return F.mse_loss(logits.reshape(-1), target.reshape(-1).to(logits.dtype))
        if target.dtype.kind in "iu":
            return F.cross_entropy(logits, target.reshape(-1))
        return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


class BertForTokenClassification(BertPreTrainedModel):
    """One label per token (named-entity recognition): ``bert`` (no pooler) → ``dropout`` →
    ``classifier`` on every hidden state → logits (N, S, num_labels); ``loss`` is the mean cross
    entropy over tokens whose label is not -100 (padding, special tokens, word-piece tails)."""

    def __init__(self, config, num_labels=2):
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"BertForTokenClassification: num_labels must be a positive int, got "
                             f"{num_labels!r}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        p = config.classifier_dropout if config.classifier_dropout is not None \
            else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False, head_mask=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, head_mask)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None if labels is None else _token_loss(logits, labels, self.num_labels)
        return TokenClassifierOutput(loss, logits, out.hidden_states, out.attentions)
