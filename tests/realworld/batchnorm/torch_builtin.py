"""PyTorch's own ``torch.nn.BatchNorm1d``: the default, the cumulative average, a float32 subclass."""

import torch

from tests.realworld.corpus import correct


class Float32BatchNorm1d(torch.nn.BatchNorm1d):
    """Computes in float32 whatever it is given (a module kept in float32 by its author)."""

    def forward(self, x):
        self.float()
        return super().forward(x.float())


SRC = "torch.nn.BatchNorm1d (PyTorch 2.x)"
CASES = [
    correct("torch-batchnorm1d", torch.nn.BatchNorm1d, "batchnorm", SRC, cli="torch.nn.BatchNorm1d"),
    correct("torch-batchnorm1d-cumulative", torch.nn.BatchNorm1d, "batchnorm",
            SRC + " with momentum=None: a cumulative moving average", params={"convention": "cumulative"}),
    correct("torch-batchnorm1d-float32", Float32BatchNorm1d, "batchnorm", SRC + ", computing in float32"),
]
