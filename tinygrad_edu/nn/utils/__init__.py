"""``tinygrad_edu.nn.utils``: helpers that act on a model's parameters and gradients.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # tame an exploding gradient
    opt.step()
"""
from .clip_grad import (clip_grad_norm, clip_grad_norm_, clip_grad_value_,  # noqa: F401
                        clip_grads_with_norm_, get_total_norm)
