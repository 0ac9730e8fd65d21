"""The argument checks the Adam family shares, with PyTorch's rules and one clear message each."""


def check_common(name, lr, eps, weight_decay, betas=None):
    if lr < 0.0:
        raise ValueError(f"{name}: invalid learning rate {lr} (must be >= 0)")
    if eps < 0.0:
        raise ValueError(f"{name}: invalid epsilon value {eps} (must be >= 0)")
    if weight_decay < 0.0:
        raise ValueError(f"{name}: invalid weight_decay value {weight_decay} (must be >= 0)")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta} (must be in [0, 1))")
