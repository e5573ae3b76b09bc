"""course_nn: a small numpy neural-network package whose every backward is written by hand.

Names follow PyTorch (Module, Parameter, Linear, Sequential, ReLU, CrossEntropyLoss, ...) and
so do weight layouts (Linear.weight is (out_features, in_features)); inputs are batch-first.
"""

from . import init, optim
from ._display import use_sharp_inline_figures
from ._memory import keep_freed_memory
from .activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Swish,
    Tanh,
)
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .gradcheck import (
    check_function_gradient,
    check_loss_gradient,
    check_module_gradients,
    gradient_report,
    numerical_gradient,
    rel_error,
)
from .init import manual_seed
from .linear import Linear
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MAELoss,
    MSELoss,
    MulticlassHingeLoss,
    mae,
    mse,
    rmse,
)
from .module import Module, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, Embedding, clip_grad_norm
from .regularization import ElasticNet, L1Penalty, L2Penalty, weights_only
from .residual import Residual
from .serialization import load, save

__version__ = "0.1.0"

keep_freed_memory()  # large per-step arrays are reused instead of page-faulted in anew
use_sharp_inline_figures()  # in a Jupyter kernel: figures as 2x PNGs, text outputs unchanged

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss",
    "check_function_gradient", "check_loss_gradient", "check_module_gradients", "clip_grad_norm",
    "Conv2d", "CrossEntropyLoss", "Dropout", "ElasticNet", "ELU", "Embedding", "Flatten", "GELU",
    "gradient_report", "GRU", "HuberLoss", "Identity", "init", "L1Loss", "L1Penalty", "L2Penalty",
    "LeakyReLU", "Linear", "load", "LSTM", "mae", "MAELoss", "manual_seed", "MaxPool2d", "Module",
    "mse", "MSELoss", "MulticlassHingeLoss", "numerical_gradient", "optim", "Parameter", "PReLU",
    "rel_error", "ReLU", "Residual", "rmse", "RNN", "save", "Sequential", "Sigmoid", "SiLU",
    "Softmax", "Swish", "Tanh", "weights_only",
]
