"""Library optimizers built once in a user's module, the way training scripts build them, and checked as
built: ``opt = torch.optim.Adam(params, lr=…)``, ``tx = optax.adam(1e-3)``."""

import optax
import torch

_w = [torch.nn.Parameter(torch.zeros(3))]

torch_sgd = torch.optim.SGD(_w, lr=0.05)
torch_momentum = torch.optim.SGD(_w, lr=0.05, momentum=0.9)
torch_nesterov = torch.optim.SGD(_w, lr=0.05, momentum=0.9, nesterov=True)
torch_rmsprop = torch.optim.RMSprop(_w, lr=0.01)                  # alpha = 0.99: read from its defaults
torch_adam = torch.optim.Adam(_w, lr=3e-4)
torch_adamw = torch.optim.AdamW(_w, lr=1e-3, weight_decay=0.05)
torch_rprop = torch.optim.Rprop(_w, lr=0.01)

optax_sgd = optax.sgd(0.01)
optax_momentum = optax.sgd(0.01, momentum=0.9)
optax_nesterov = optax.sgd(0.01, momentum=0.9, nesterov=True)
optax_adam = optax.adam(1e-3)
optax_adamw = optax.adamw(1e-3)                                    # optax's weight_decay default is 1e-4
optax_injected = optax.inject_hyperparams(optax.adam)(learning_rate=3e-4, b1=0.8)
optax_rmsprop = optax.rmsprop(0.01)                                 # optax's default: ε inside the root
