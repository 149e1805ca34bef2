"""Plain-numpy reference implementation of every formula in the spec.

Each function's docstring states its equation, its conventions and a source.
Everything computes in float64. Optimizers are pure functions with explicit
state, in the style of optax::

    opt = reference.adam(lr=1e-3)
    state = opt.init(params)
    params, state = opt.update(grads, state, params)
"""

from reference._src.adaptive import (
    EPS_PLACEMENTS,
    ScaleByAdamState,
    ScaleByRmsState,
    add_decayed_weights,
    adam,
    adamw,
    rmsprop,
    scale_by_adam,
    scale_by_rms,
)
from reference._src.adagrad import (
    ADAGRAD_EPS_PLACEMENTS,
    ScaleByAdadeltaState,
    ScaleByRssState,
    adadelta,
    adagrad,
    scale_by_adadelta,
    scale_by_inverse_time,
    scale_by_rss,
)
from reference._src.adam_variants import (
    ADAMAX_EPS_PLACEMENTS,
    AMSGRAD_MAXIMA,
    NADAM_SCHEDULES,
    RADAM_THRESHOLDS,
    ScaleByAdamaxState,
    ScaleByAmsgradState,
    ScaleByNadamState,
    ScaleByRadamState,
    adamax,
    amsgrad,
    nadam,
    nadam_momentum,
    radam,
    radam_rho,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_nadam,
    scale_by_radam,
)
from reference._src.asgd import (
    ASGD_ETA_FORMS,
    ScaleByAsgdState,
    asgd,
    asgd_average,
    asgd_eta,
    asgd_mu,
    scale_by_asgd,
)
from reference._src.base import Optimizer, Transform, as_optimizer, chain, scale
from reference._src.batchnorm import (
    BatchNorm1d,
    BatchNormCache,
    RunningStats,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    init_running_stats,
    update_running_stats,
)
from reference._src.clipping import CLIP_CONVENTIONS, TORCH_CLIP_EPS, clip_by_global_norm, global_norm
from reference._src.decay import with_weight_decay
from reference._src.initialization import (
    DISTRIBUTIONS,
    LAYOUTS,
    TRUNCATED_NORMAL_STD,
    compute_fans,
    he,
    he_std,
    init_std,
    lecun,
    lecun_std,
    relu_bias,
    sample_scaled,
    xavier,
    xavier_std,
)
from reference._src.lamb import LAMB_WEIGHT_DECAY_FORMS, lamb, l2_norm, scale_by_trust_ratio, trust_ratio
from reference._src.lion import ScaleByLionState, lion, scale_by_lion
from reference._src.newton import newton_iterates, newton_step, newton_step_1d
from reference._src.normalization import (
    NormCache,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_default_eps,
    rmsnorm_forward,
)
from reference._src.regularization import (
    decoupled_decay_step,
    l1_grad,
    l1_penalty,
    l1_prox_step,
    l1_sgd_step,
    l1_subgradient_bounds,
    l2_grad,
    l2_penalty,
    l2_sgd_step,
    sgn,
    soft_threshold,
    weight_decay_factor,
)
from reference._src.sgd import (
    TraceState,
    VelocityState,
    add_l2_gradient,
    momentum,
    nesterov,
    nesterov_lookahead,
    sgd,
    sgd_weight_decay,
    trace,
)
from reference._src.sign import RPROP_VARIANTS, RpropState, rprop, scale_by_sign, sign_sgd

__all__ = [
    # regularisation
    "sgn", "l2_penalty", "l2_grad", "l2_sgd_step", "weight_decay_factor", "decoupled_decay_step",
    "l1_penalty", "l1_grad", "l1_subgradient_bounds", "l1_sgd_step", "soft_threshold", "l1_prox_step",
    # initialisation
    "TRUNCATED_NORMAL_STD", "DISTRIBUTIONS", "LAYOUTS", "compute_fans", "lecun_std", "xavier_std",
    "he_std", "init_std", "sample_scaled", "lecun", "xavier", "he", "relu_bias",
    # batch norm
    "BatchNormCache", "RunningStats", "batchnorm_forward", "batchnorm_backward",
    "batchnorm_inference", "init_running_stats", "update_running_stats", "BatchNorm1d",
    # layer and RMS norm
    "NormCache", "layernorm_forward", "layernorm_backward", "rmsnorm_forward", "rmsnorm_backward",
    "rmsnorm_default_eps",
    # gradient clipping
    "CLIP_CONVENTIONS", "TORCH_CLIP_EPS", "global_norm", "clip_by_global_norm",
    # Newton
    "newton_step_1d", "newton_step", "newton_iterates",
    # optimizers and their building blocks
    "Optimizer", "Transform", "chain", "scale", "as_optimizer",
    "TraceState", "VelocityState", "trace", "add_l2_gradient", "sgd", "momentum", "nesterov",
    "nesterov_lookahead", "sgd_weight_decay",
    "RpropState", "RPROP_VARIANTS", "scale_by_sign", "sign_sgd", "rprop",
    "ScaleByRmsState", "ScaleByAdamState", "EPS_PLACEMENTS", "scale_by_rms", "scale_by_adam",
    "add_decayed_weights", "rmsprop", "adam", "adamw", "with_weight_decay",
    "ADAGRAD_EPS_PLACEMENTS", "ScaleByRssState", "ScaleByAdadeltaState", "scale_by_rss", "scale_by_inverse_time",
    "scale_by_adadelta", "adagrad", "adadelta",
    "ADAMAX_EPS_PLACEMENTS", "NADAM_SCHEDULES", "RADAM_THRESHOLDS", "AMSGRAD_MAXIMA",
    "ScaleByAdamaxState", "ScaleByNadamState", "ScaleByRadamState", "ScaleByAmsgradState",
    "scale_by_adamax", "scale_by_nadam", "scale_by_radam", "scale_by_amsgrad", "nadam_momentum", "radam_rho",
    "adamax", "nadam", "radam", "amsgrad",
    "ScaleByLionState", "scale_by_lion", "lion",
    "LAMB_WEIGHT_DECAY_FORMS", "l2_norm", "trust_ratio", "scale_by_trust_ratio", "lamb",
    "ASGD_ETA_FORMS", "ScaleByAsgdState", "asgd_eta", "asgd_mu", "scale_by_asgd", "asgd", "asgd_average",
]
