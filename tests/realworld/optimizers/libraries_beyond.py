"""Library optimizers beyond the notes built once in a user's module, as training scripts build them, and checked
as built: flags and decay set in the constructor (read from the object for torch; declared for optax, whose
factories keep their values in closures)."""

import optax
import torch

_w = [torch.nn.Parameter(torch.zeros(3))]

torch_nadamw = torch.optim.NAdam(_w, lr=2e-3, weight_decay=0.01, decoupled_weight_decay=True)
torch_amsgrad = torch.optim.Adam(_w, lr=3e-4, amsgrad=True)
torch_adagrad = torch.optim.Adagrad(_w, lr=0.05, initial_accumulator_value=0.1)
torch_radam = torch.optim.RAdam(_w, lr=1e-3, weight_decay=0.01, decoupled_weight_decay=True)

optax_lion = optax.lion(3e-4)                       # optax's weight_decay default is 1e-3
optax_radam = optax.radam(1e-3)
optax_lamb = optax.lamb(1e-3, weight_decay=0.01)
