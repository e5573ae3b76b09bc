"""Write tests/reference/torch_conv.npz with PyTorch (run by hand when the cases change).

    python tests/make_conv_reference.py
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from conv_cases import CONV_CASES, POOL_CASES, conv_inputs, pool_inputs


def torch_conv(name):
    _, _, _, stride, padding, _, _ = CONV_CASES[name]
    x, weight, bias, grad = (torch.tensor(a, requires_grad=True) for a in conv_inputs(name))
    y = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    y.backward(grad)
    return {"y": y, "dx": x.grad, "dw": weight.grad, "db": bias.grad}


def torch_pool(name):
    kind, k, s, p, _, _ = POOL_CASES[name]
    x, grad = (torch.tensor(a, requires_grad=True) for a in pool_inputs(name))
    y = (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, k, s, p)
    y.backward(grad)
    return {"y": y, "dx": x.grad}


def main():
    arrays = {}
    for name in CONV_CASES:
        arrays |= {f"conv/{name}/{k}": v.detach().numpy() for k, v in torch_conv(name).items()}
    for name in POOL_CASES:
        arrays |= {f"pool/{name}/{k}": v.detach().numpy() for k, v in torch_pool(name).items()}
    out = Path(__file__).parent / "reference" / "torch_conv.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(arrays)} arrays to {out.name} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
