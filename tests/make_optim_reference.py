"""Write tests/reference/optim_trajectories.npz with PyTorch (run by hand when cases change).

    python tests/make_optim_reference.py
"""

from pathlib import Path

import numpy as np
import torch
from optim_cases import CASES, STEPS, TORCH_NAMES, gradient, problem


def run_torch(name, kwargs):
    p0, a = problem()
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in p0]
    opt = getattr(torch.optim, TORCH_NAMES[name])(params, **kwargs)
    a_t = torch.tensor(a)
    path = []
    for _ in range(STEPS):
        opt.zero_grad()
        for p in params:
            p.grad = gradient(p.detach(), a_t)
        opt.step()
        path.append([p.detach().numpy().copy() for p in params])
    return path


def main():
    arrays = {}
    for case, (name, kwargs) in CASES.items():
        for step, values in enumerate(run_torch(name, kwargs)):
            for i, v in enumerate(values):
                arrays[f"{case}/step{step}/param{i}"] = v
    out = Path(__file__).parent / "reference" / "optim_trajectories.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(arrays)} arrays to {out.name} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
