"""Shared cases for the convolution/pooling comparison with PyTorch (tests and reference script)."""

import numpy as np

CONV_CASES = {  # name: (in, out, kernel, stride, padding, input H, W)
    "1to8_k3_p1": (1, 8, 3, 1, 1, 8, 8),
    "3to4_k3_s2_p1": (3, 4, 3, 2, 1, 9, 7),
    "2to3_k2x3_p1x0": (2, 3, (2, 3), 1, (1, 0), 6, 6),
    "2to2_k1": (2, 2, 1, 1, 0, 5, 4),
}
POOL_CASES = {  # name: (kind, kernel, stride, padding, H, W)
    "max_k2": ("max", 2, None, 0, 6, 6),
    "max_k3_s2_p1": ("max", 3, 2, 1, 7, 6),
    "max_k3_s1": ("max", 3, 1, 0, 5, 5),
    "avg_k2": ("avg", 2, None, 0, 6, 6),
    "avg_k3_s2_p1": ("avg", 3, 2, 1, 7, 6),
}


def conv_inputs(name):
    c_in, c_out, k, s, p, h, w = CONV_CASES[name]
    rng = np.random.default_rng(len(name) * 7919)
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((2, c_in, h, w))
    weight = rng.standard_normal((c_out, c_in, kh, kw)) * 0.5
    bias = rng.standard_normal(c_out)
    ho = (h + 2 * (p if isinstance(p, int) else p[0]) - kh) // (s if isinstance(s, int) else s[0]) + 1
    wo = (w + 2 * (p if isinstance(p, int) else p[1]) - kw) // (s if isinstance(s, int) else s[1]) + 1
    grad = rng.standard_normal((2, c_out, ho, wo))
    return x, weight, bias, grad


def pool_inputs(name):
    _, k, s, p, h, w = POOL_CASES[name]
    rng = np.random.default_rng(len(name) * 104729)
    x = rng.standard_normal((2, 3, h, w))
    s = k if s is None else s
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return x, rng.standard_normal((2, 3, ho, wo))
