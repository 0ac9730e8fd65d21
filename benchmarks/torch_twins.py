"""The PyTorch twins of ``tinygrad_edu.models``: each architecture written again in plain ``torch.nn``,
with the same module names, so that our ``state_dict`` loads into the twin one to one.

Tests (``tests/test_models.py``, ``tests/test_benchmarks_smoke.py``) use them to check that our models
compute what PyTorch computes; the benchmarks (``bench_cnn.py``, ``bench_gpt.py``, ``experiments/``) time
them against ours.  This is the one place they are defined.

==================  ============================================  ================================
twin                our model (``tinygrad_edu.models``)           follows
==================  ============================================  ================================
``MLP``             ``MLP``                                       our definition
``LeNet5``          ``LeNet5``                                    our definition
``vgg(cfg)``        ``VGG`` (``vgg11`` ... ``vgg19_bn``)          torchvision's ``vgg.py``
``VGGMini``         ``VGGMini`` (``vgg_mini``)                    our definition
``resnet18/34``     ``ResNet`` (``resnet18``, ``resnet34``)       torchvision's ``resnet.py``
``CifarResNet``     ``CifarResNet`` (``resnet20``, ...)           our definition
``AirbenchNet``     ``AirbenchNet`` (``airbench48/64``)           our definition
``GPT``             ``GPT`` (``models.gpt``)                      nanoGPT's ``model.py`` + KV cache
==================  ============================================  ================================

Weights are not initialised here the way our models are: the callers copy ours across with
``load_state_dict``.  (torchvision is not installed, hence the rewrites.)  BERT has no twin here: its
reference is Hugging Face's ``transformers.BertModel`` itself.  The scripts in ``tests/ports/`` are
deliberately standalone PyTorch programs and keep their own models.
"""

import torch
import torch.nn.functional as F
from torch import nn

VGG_CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}
MINI_CONFIGS = {
    "two_blocks": [32, 32, "M", 64, 64, "M"],
    "three_blocks": [32, 32, "M", 64, 64, "M", 128, 128, "M"],
}


class MLP(nn.Module):
    def __init__(self, in_features=784, hidden=(256, 256), num_classes=10, dropout=0.0):
        super().__init__()
        layers = [nn.Flatten()]
        width = in_features
        for out in hidden:
            layers += [nn.Linear(width, out), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = out
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, input_size=28):
        super().__init__()
        side = (input_size // 2 - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def make_layers(cfg, batch_norm=False, in_channels=3):
    layers = []
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision.models.VGG (without its weight initialisation)."""

    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def vgg(cfg, batch_norm=False, num_classes=1000, in_channels=3, dropout=0.5):
    return VGG(make_layers(VGG_CONFIGS[cfg], batch_norm, in_channels), num_classes, dropout)


class VGGMini(nn.Module):
    """``models.vgg_mini``: ``features`` (Conv2d 3×3 pad 1, (BatchNorm2d,) ReLU; MaxPool2d(2) for "M")
    → flatten → ``classifier`` (Linear, ReLU, Dropout, Linear).  ``cfg`` is a name of
    ``MINI_CONFIGS`` or the list itself."""

    def __init__(self, num_classes=10, in_channels=3, batch_norm=True, cfg="three_blocks",
                 hidden=256, dropout=0.5, input_size=32):
        super().__init__()
        cfg = MINI_CONFIGS[cfg] if isinstance(cfg, str) else list(cfg)
        side = input_size // (2 ** cfg.count("M"))
        channels = [v for v in cfg if v != "M"][-1]
        self.features = make_layers(cfg, batch_norm, in_channels)
        self.classifier = nn.Sequential(
            nn.Linear(channels * side * side, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ZeroPadShortcut(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.inplanes, self.planes, self.stride = inplanes, planes, stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.planes - self.inplanes))


def _make_layer(inplanes, planes, blocks, stride, shortcut="B"):
    downsample = None
    if stride != 1 or inplanes != planes:
        if shortcut == "A":
            downsample = ZeroPadShortcut(inplanes, planes, stride)
        else:
            downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
    layers = [BasicBlock(inplanes, planes, stride, downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """torchvision.models.ResNet with BasicBlock."""

    def __init__(self, layers, num_classes=1000, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _make_layer(64, 64, layers[0], 1)
        self.layer2 = _make_layer(64, 128, layers[1], 2)
        self.layer3 = _make_layer(128, 256, layers[2], 2)
        self.layer4 = _make_layer(256, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def resnet18(num_classes=1000):
    return ResNet([2, 2, 2, 2], num_classes)


def resnet34(num_classes=1000):
    return ResNet([3, 4, 6, 3], num_classes)


class CifarResNet(nn.Module):
    def __init__(self, depth=20, num_classes=10, in_channels=3, shortcut="A"):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_layer(16, 16, n, 1, shortcut)
        self.layer2 = _make_layer(16, 32, n, 2, shortcut)
        self.layer3 = _make_layer(32, 64, n, 2, shortcut)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# ---------------------------------------------------------------------------------------------
# airbench: the fast CIFAR-10 network
# ---------------------------------------------------------------------------------------------
def _airbench_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(cout), nn.GELU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.GELU())


class AirbenchNet(nn.Module):
    """``models.AirbenchNet`` with the block ``widths`` (e.g. ``AIRBENCH_WIDTHS["airbench48"]``)."""

    def __init__(self, widths, num_classes=10, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 24, 2, bias=False), nn.GELU())
        self.layer1 = _airbench_block(24, widths[0])
        self.layer2, self.layer3 = _airbench_block(*widths[:2]), _airbench_block(*widths[1:])
        self.fc = nn.Linear(widths[2], num_classes, bias=False)

    def forward(self, x):
        return self.fc(self.layer3(self.layer2(self.layer1(self.stem(x)))).amax(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# GPT: nanoGPT's model.py with models.gpt's names, plus the KV cache of GPT.generate
# ---------------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, cache=None, layer=0):
        config = self.config
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(config.n_embd, dim=2)
        q, k, v = (t.view(B, T, config.n_head, C // config.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if cache[layer] is not None:
                k = torch.cat([cache[layer][0], k], dim=2)
                v = torch.cat([cache[layer][1], v], dim=2)
            cache[layer] = (k, v)
        causal = k.size(2) == T          # no past (T == 1 with a past: see everything)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class GPTMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class GPTBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = GPTMLP(config)

    def forward(self, x, cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """``models.gpt.GPT`` for a ``models.gpt.GPTConfig``: the same parameter names (the token embedding
    tied to ``lm_head``), GPT-2's tanh GELU, ``configure_optimizers`` and greedy generation with the
    same cache policy."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([GPTBlock(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias)))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def hidden_states(self, idx, cache=None, past=0):
        pos = torch.arange(past, past + idx.size(1), dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, cache, i)
        return self.transformer.ln_f(x)

    def forward(self, idx, targets=None):
        logits = self.lm_head(self.hidden_states(idx))
        loss = None if targets is None else \
            F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate_greedy(self, idx, max_new_tokens, use_cache=True):
        """Greedy decoding with ``models.gpt.GPT.generate``'s cache policy."""
        config = self.config
        bs = config.block_size
        cache = None
        for _ in range(max_new_tokens):
            total = idx.size(1)
            if cache is not None and total <= bs:
                x = self.hidden_states(idx[:, -1:], cache, past=total - 1)
            else:
                cache = [None] * config.n_layer if use_cache and total <= bs else None
                x = self.hidden_states(idx[:, -bs:], cache)
            logits = self.lm_head(x[:, -1, :])
            idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
        return idx
