"""Gradient clipping by the global norm as people write it: the loop of ``torch.nn.utils.clip_grad_norm_``
re-done in numpy (``total_norm = sqrt(sum(norm(g)**2))``, ``clip_coef = max_norm / (total_norm + 1e-6)``, scaled
in place when below 1, the norm returned), TensorFlow's ``clip_by_global_norm`` in numpy (new arrays and the
norm), a CS231n-style dict of gradients, ``torch.nn.utils.clip_grad_norm_`` called inside a numpy wrapper, and the
slips: clipping each tensor by its own norm, the squared norm, the ratio inverted. Paraphrased."""

import numpy as np
import torch


def clip_grad_norm(grads, max_norm):
    """PyTorch's algorithm over numpy arrays, in place."""
    total_norm = np.sqrt(sum(np.linalg.norm(g) ** 2 for g in grads))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:
        for g in grads:
            g *= clip_coef
    return total_norm


def clip_by_global_norm(t_list, clip_norm):
    """TensorFlow's: t · clip_norm / max(global_norm, clip_norm), new arrays and the global norm."""
    global_norm = np.sqrt(sum(np.sum(np.square(t)) for t in t_list))
    scale = clip_norm / max(global_norm, clip_norm)
    return [t * scale for t in t_list], global_norm


def clip_gradients(grads, max_norm):
    """A CS231n-style dict of gradients {'W1': …, 'b1': …}; a new dict."""
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    if norm > max_norm:
        return {k: g * (max_norm / norm) for k, g in grads.items()}
    return grads


def clip_with_torch(grads, max_norm):
    """The numpy gradients handed to ``clip_grad_norm_`` as the ``.grad`` of parameters sharing their memory."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        p.grad = torch.from_numpy(g)
        params.append(p)
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))


# ----- the slips ---------------------------------------------------------------------------------------------


def clip_per_tensor(grads, max_norm):
    """Each tensor clipped by its own norm (Keras' ``clipnorm``, not the global norm)."""
    out = []
    for g in grads:
        n = np.linalg.norm(g)
        out.append(g * (max_norm / n) if n > max_norm else g)
    return out


def clip_squared_norm(grads, max_norm):
    """The square root forgotten: the sum of squares compared with max_norm and divided by."""
    total = sum(np.sum(g ** 2) for g in grads)
    if total > max_norm:
        return [g * max_norm / total for g in grads]
    return list(grads)


def clip_inverted(grads, max_norm):
    """clip_coef = total_norm / max_norm (the ratio upside down) when the norm exceeds max_norm."""
    total_norm = np.sqrt(sum(np.linalg.norm(g) ** 2 for g in grads))
    if total_norm > max_norm:
        return [g * (total_norm / max_norm) for g in grads]
    return list(grads)
