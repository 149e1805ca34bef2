"""The real-world optimizer corpus: every implementation in this package, with the spec it claims to implement,
the hyperparameters its user would declare, and what a trustworthy verifier must say about it.

``CORPUS`` entries are ``Entry(module:attribute, spec, declared params, kind, expected cause)``:

* ``correct`` — implements the spec's formula (possibly in another form, precision or shape): every check must
  pass or skip with a reason (a false alarm otherwise);
* ``assumed`` — correct, but hard-codes a value other than the spec's default that the user did not declare:
  conformance must be ``inconclusive`` naming that value, never a failure;
* ``bug`` — a real or planted defect: conformance must fail, and the diagnosis must name ``cause``;
* ``variant`` — a published variant that is not the spec's formula (ε inside the root, EMA momentum, ε-hat):
  conformance must fail and name the variant.

Sources are paraphrased in their own shapes (module docstrings say from where); none is copied verbatim.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Entry:
    target: str                      # "module:attribute" under tests.realworld.optimizers
    spec: str
    params: tuple[tuple[str, Any], ...] = ()
    kind: str = "correct"            # correct | assumed | bug | variant
    cause: str | None = None         # phrase the diagnosis (or message) must contain
    needs: str | None = None         # "torch" or "optax"

    @property
    def name(self) -> str:
        return f"{self.target}@{self.spec}"


def _e(target: str, spec: str, kind: str = "correct", cause: str | None = None, needs: str | None = None,
       **params: Any) -> Entry:
    return Entry(target, spec, tuple(params.items()), kind, cause, needs)


CORPUS: tuple[Entry, ...] = (
    # --- CS231n optim.py (config functions, as they are)
    _e("cs231n:sgd", "sgd"),
    _e("cs231n:sgd_momentum", "momentum"),
    _e("cs231n:rmsprop", "rmsprop"),
    _e("cs231n:adam", "adam"),
    _e("cs231n:adam_lr_t", "adam", "variant", "ε-hat"),
    _e("cs231n:adam_t_after", "adam", "bug", "bias correction one step ahead"),
    _e("cs231n:adam_no_bias_correction", "adam", "bug", "without bias correction"),
    _e("cs231n:rmsprop_eps_inside", "rmsprop", "bug", "ε inside the square root"),
    _e("cs231n:sgd_momentum_ascent", "momentum", "bug", "ascent"),
    _e("cs231n:sgd_momentum_forgets_velocity", "momentum", "bug", "plain SGD"),
    # --- d2l (torch in-place updates, float32 state, constants in the functions)
    _e("d2l:SGD", "sgd", needs="torch"),
    _e("d2l:Momentum", "momentum", needs="torch"),
    _e("d2l:Adam", "adam", eps=1e-6, needs="torch"),
    _e("d2l:Adam", "adam", "assumed", "eps = 1e-06", needs="torch"),
    _e("d2l:RMSProp", "rmsprop", "variant", "ε inside the square root", eps=1e-6, needs="torch"),
    _e("d2l:AdamOffByOne", "adam", "bug", "bias correction one step ahead", eps=1e-6, needs="torch"),
    _e("d2l:MomentumDampened", "momentum", "bug", "exponential average", needs="torch"),
    # --- Neural Networks from Scratch (update_params(layer), as they are)
    _e("nnfs:Optimizer_SGD", "sgd"),
    _e("nnfs:Optimizer_SGD", "momentum"),
    _e("nnfs:Optimizer_RMSprop", "rmsprop"),
    _e("nnfs:Optimizer_Adam", "adam"),
    _e("nnfs:Optimizer_Adam_NoSqrt", "adam", "bug", "without the square root"),
    _e("nnfs:Optimizer_Adam_IterationsFromZero", "adam", "bug", "bias correction one step ahead"),
    _e("nnfs:Optimizer_RMSprop_SwappedRho", "rmsprop", "bug", "swapped"),
    _e("nnfs:Optimizer_SGD_MomentumSign", "momentum", "bug", "wrong sign"),
    # --- numpy-ml (update(param, grad, name), hyperparameters dict, **kwargs)
    _e("numpy_ml:SGD", "sgd"),
    _e("numpy_ml:SGD", "momentum"),
    _e("numpy_ml:RMSProp", "rmsprop"),
    _e("numpy_ml:Adam", "adam"),
    _e("numpy_ml:AdamVarWithoutSquare", "adam", "bug", "without the square root"),
    # --- ML-From-Scratch (update(w, grad), ε hard-coded)
    _e("mlfromscratch:StochasticGradientDescent", "sgd"),
    _e("mlfromscratch:StochasticGradientDescent", "momentum", "bug", "exponential average"),
    _e("mlfromscratch:RMSprop", "rmsprop", "variant", "ε inside the square root"),
    _e("mlfromscratch:Adam", "adam", "bug", "1 − β instead of 1 − βᵗ"),
    _e("mlfromscratch:AdamFixed", "adam"),
    _e("mlfromscratch:make_adam", "adam"),
    _e("mlfromscratch:adam_instance", "adam"),
    # --- deeplearning.ai (dict parameters, explicit state, wrapped)
    _e("deeplearning_ai:Adam", "adam"),
    _e("deeplearning_ai:Momentum", "momentum", "variant", "exponential average"),
    _e("deeplearning_ai:AdamEpsInside", "adam", "bug", "ε inside the square root"),
    _e("deeplearning_ai:AdamSwapped", "adam", "bug", "β1 and β2 swapped"),
    # --- Holberton (pure functions, functional wrapper)
    _e("holberton:adam", "adam"),
    _e("holberton:rmsprop", "rmsprop"),
    _e("holberton:momentum", "momentum", "variant", "exponential average"),
    _e("holberton:adam_t_squared", "adam", "bug", None),
    # --- Keras-style numpy
    _e("keras_like:SGD", "sgd"),
    _e("keras_like:SGD", "momentum"),
    _e("keras_like:NesterovSGD", "nesterov"),
    _e("keras_like:RMSprop", "rmsprop"),
    _e("keras_like:AdamKeras2", "adam", "variant", "ε-hat"),
    _e("keras_like:NesterovWrongSign", "nesterov", "bug", "look-ahead term with the wrong sign"),
    _e("keras_like:NesterovAsHeavyBall", "nesterov", "bug", "heavy-ball momentum"),
    # --- Rprop and sign methods
    _e("rprop_sign:IRpropMinus", "rprop"),
    _e("rprop_sign:RpropMinus", "rprop", "variant", "Rprop−"),
    _e("rprop_sign:RpropStepsAfterFlip", "rprop", "variant", "the step is taken at once"),
    _e("rprop_sign:RpropSwappedEtas", "rprop", "bug", "swapped"),
    _e("rprop_sign:SignSGD", "sign-sgd"),
    _e("rprop_sign:SignSGDPlusOneAtZero", "sign-sgd", "bug", "sgn(0) = +1"),
    _e("rprop_sign:Signum", "sign-sgd", "variant", "signum"),
    # --- weight decay, AdamW
    _e("decay:SGDL2", "weight-decay"),
    _e("decay:SGDShrinkThenStep", "weight-decay", lam=0.01),
    _e("decay:SGDL2TorchConvention", "weight-decay", "bug", "a factor 2 in λ"),
    _e("decay:AdamL2", "adam"),
    _e("decay:AdamDecoupledUnderAdam", "adam", "bug", "decoupled weight decay (AdamW) in adam"),
    _e("decay:AdamW", "adamw"),
    _e("decay:AdamWDecayAfter", "adamw", "bug", "after the Adam step"),
    _e("decay:AdamWCoupled", "adamw", "bug", "coupled (L2) decay"),
    _e("decay:AdamWDecayLrSquared", "adamw", "bug", "learning rate applied twice to the decay"),
    # --- torch subclasses written from scratch
    _e("torch_custom:AdamFromScratch", "adam", needs="torch"),
    _e("torch_custom:AdamNoCorrection", "adam", "bug", "without bias correction", needs="torch"),
    _e("torch_custom:AdamW", "adamw", needs="torch"),
    _e("torch_custom:AdamWCoupled", "adamw", "bug", "coupled (L2) decay", needs="torch"),
    _e("torch_custom:AdamWUnscaledDecay", "adamw", "bug", "not multiplied by η", needs="torch"),
    _e("torch_custom:AdamWDecayLast", "adamw", "variant", "after the Adam step", needs="torch"),
    _e("torch_custom:TransformersAdamW", "adamw", "variant", "transformers", weight_decay=0.01, needs="torch"),
    _e("torch_custom:AdamWThatIsAdamL2", "adamw", "bug", None, needs="torch"),
    _e("torch_custom:MomentumSGD", "momentum", needs="torch"),
    _e("torch_custom:SignSGD", "sign-sgd", needs="torch"),
    # --- library optimizers built once in a user's module
    _e("libraries:torch_sgd", "sgd", needs="torch"),
    _e("libraries:torch_momentum", "momentum", needs="torch"),
    _e("libraries:torch_nesterov", "nesterov", needs="torch"),
    _e("libraries:torch_rmsprop", "rmsprop", needs="torch"),
    _e("libraries:torch_adam", "adam", needs="torch"),
    _e("libraries:torch_adamw", "adamw", needs="torch"),
    _e("libraries:torch_rprop", "rprop", needs="torch"),
    _e("libraries:optax_sgd", "sgd", lr=0.01, needs="optax"),
    _e("libraries:optax_momentum", "momentum", lr=0.01, needs="optax"),
    _e("libraries:optax_nesterov", "nesterov", lr=0.01, needs="optax"),
    _e("libraries:optax_adam", "adam", needs="optax"),
    _e("libraries:optax_adamw", "adamw", weight_decay=1e-4, needs="optax"),
    _e("libraries:optax_adamw", "adamw", "assumed", "weight_decay = 0.0001", needs="optax"),
    _e("libraries:optax_injected", "adam", needs="optax"),
    _e("libraries:optax_rmsprop", "rmsprop", "variant", "ε inside the square root", lr=0.01, needs="optax"),
    # --- Deep Learning from Scratch (update(params, grads) over dicts of parameters, in place; ε = 1e-7)
    _e("saito:SGD", "sgd"),
    _e("saito:Momentum", "momentum"),
    _e("saito:NesterovBengio", "nesterov"),
    _e("saito:Nesterov", "nesterov", "bug", "velocity updated first"),
    _e("saito:RMSprop", "rmsprop", eps=1e-7),
    _e("saito:RMSprop", "rmsprop", "assumed", "eps = 1e-07"),
    _e("saito:Adam", "adam", "variant", "ε-hat", eps=1e-7),
    _e("saito:AdamNoSqrtOfCorrection", "adam", "bug", "without its square root", eps=1e-7),
    # --- called optimizers: opt(params, grads) in place, over an array or a list of arrays
    _e("call_style:SGD", "sgd"),
    _e("call_style:Momentum", "momentum"),
    _e("call_style:RMSProp", "rmsprop", rho=0.99),
    _e("call_style:RMSProp", "rmsprop", "assumed", "rho = 0.99"),
    _e("call_style:ListSGD", "sgd"),
    _e("call_style:ListMomentum", "momentum"),
    _e("call_style:ListAdam", "adam"),
    _e("call_style:ListAdamVNotCorrected", "adam", "bug", "only m bias-corrected"),
    # --- pure JAX functions over pytrees (tree_map, jit, the count in the state), wrapped
    _e("jax_functional:adam", "adam", needs="jax"),
    _e("jax_functional:adam_dict_state", "adam", needs="jax"),
    _e("jax_functional:momentum", "momentum", needs="jax"),
    _e("jax_functional:adamw", "adamw", needs="jax"),
    _e("jax_functional:momentum_float32", "momentum", needs="jax"),
    _e("jax_functional:rmsprop", "rmsprop", "variant", "ε inside the square root", needs="jax"),
    _e("jax_functional:adam_step_used_before_increment", "adam", "bug", "one step behind", needs="jax"),
    # --- Keras 2 style: apply_gradients(zip(grads, vars)), slots by id(var), nesterov/amsgrad/centered flags
    _e("keras_legacy:SGD", "sgd"),
    _e("keras_legacy:SGD", "momentum"),
    _e("keras_legacy:NesterovSGD", "nesterov"),
    _e("keras_legacy:Adam", "adam", eps=1e-7),
    _e("keras_legacy:RMSprop", "rmsprop", eps=1e-7),
    _e("keras_legacy:AdamAmsgradAlwaysOn", "adam", "bug", "AMSGrad", eps=1e-7),
    _e("keras_legacy:CenteredRMSprop", "rmsprop", eps=1e-7),    # its centered=True read from the partial: checked so
    # --- student code: printing, counters from 1, schedules held constant, flags off, and slips
    _e("student:VerboseAdam", "adam"),
    _e("student:MomentumFromFirstGradient", "momentum"),
    _e("student:ScheduledAdam", "adam"),
    _e("student:RMSpropCentered", "rmsprop"),
    _e("student:AdamWrongBetaInV", "adam", "bug", "bias-correcting v with β1"),
    _e("student:RMSpropNoOneMinusRho", "rmsprop", "bug", "without its factor 1 − ρ"),
    _e("student:NesterovMomentumNoLookahead", "nesterov", "bug", "heavy-ball momentum"),
    _e("student:AdamLrDecayedEveryStep", "adam", "bug", None),
    # --- torch subclasses: _foreach kernels, a count per group, lerp_ moments, flags off
    _e("torch_foreach:ForeachMomentum", "momentum", needs="torch"),
    _e("torch_foreach:ForeachAdam", "adam", needs="torch"),
    _e("torch_foreach:LerpAdamW", "adamw", needs="torch"),
    _e("torch_foreach:CenteredFlagRMSprop", "rmsprop", rho=0.99, needs="torch"),
    _e("torch_foreach:LerpAdamWSquaredLerp", "adamw", "bug", "g instead of g²", needs="torch"),
    _e("torch_foreach:ForeachAdamStepPerTensor", "adam", "bug", None, needs="torch"),
    # --- optimizers that own their parameters: SGD(params, lr) then p.grad = …; step() (micrograd, tinygrad)
    _e("owned_params:SGD", "sgd"),
    _e("owned_params:SGDPrivate", "sgd"),
    _e("owned_params:Momentum", "momentum"),
    _e("owned_params:NesterovSGD", "nesterov"),
    _e("owned_params:RMSprop", "rmsprop"),
    _e("owned_params:ValueAdam", "adam"),
    _e("owned_params:Adam", "adam"),
    _e("owned_params:AdamW", "adamw"),
    _e("owned_params:ArrayAdam", "adam"),
    _e("owned_params:SGDFactory", "nesterov", "bug", "heavy-ball momentum", momentum=0.9),
    _e("owned_params:ValueAdamNoBiasCorrection", "adam", "bug", "without bias correction"),
    _e("owned_params:MomentumSharedBuffer", "momentum", "bug", None),
    _e("owned_params:RMSpropEpsInside", "rmsprop", "bug", "ε inside the square root"),
    _e("owned_params:AdamWDecaysGrad", "adamw", "bug", "coupled (L2) decay"),
    # --- beyond the notes: d2l's Adagrad and Adadelta (torch, float32 state, ε hard-coded, Adadelta without η)
    _e("d2l_adaptive:Adagrad", "adagrad", eps=1e-6, eps_placement="inside", needs="torch"),
    _e("d2l_adaptive:Adadelta", "adadelta", eps=1e-5, needs="torch"),
    _e("d2l_adaptive:AdadeltaStateNeverStored", "adadelta", "bug", "never stored", eps=1e-5, needs="torch"),
    _e("d2l_adaptive:AdagradAbsAccumulator", "adagrad", "bug", "|g|", eps=1e-6, eps_placement="inside",
       needs="torch"),
    # --- numpy-ml's AdaGrad, ML-From-Scratch's Adagrad (ε inside, set in __init__) and Adadelta (no η)
    _e("numpy_libs_beyond:AdaGrad", "adagrad"),
    _e("numpy_libs_beyond:Adagrad", "adagrad", eps_placement="inside"),
    _e("numpy_libs_beyond:Adadelta", "adadelta"),
    _e("numpy_libs_beyond:AdadeltaStaleAverage", "adadelta", "bug", "previous E[g²]"),
    # --- Lion as torch subclasses (lucidrains' lion-pytorch, the authors' code, lerp_), bitsandbytes' slip
    _e("lion_torch:Lion", "lion", needs="torch"),
    _e("lion_torch:LionAuthors", "lion", needs="torch"),
    _e("lion_torch:LionLerp", "lion", needs="torch"),
    _e("lion_torch:LionCoupledDecay", "lion", "bug", "coupled decay", needs="torch"),
    _e("lion_torch:LionMomentumFirst", "lion", "bug", "momentum updated first", needs="torch"),
    _e("lion_torch:LionDecayNotScaledByLr", "lion", "bug", "not multiplied by η", needs="torch"),
    # --- LAMB from packages other than timm (cybertronai, jettify) and from the paper
    _e("lamb_torch:Lamb", "lamb", needs="torch"),
    _e("lamb_torch:LambCybertron", "lamb", "variant", "no bias correction and φ", needs="torch"),
    _e("lamb_torch:LambJettify", "lamb", "variant", "no bias correction and φ", needs="torch"),
    _e("lamb_torch:LambJettifyDebias", "lamb", "variant", "outside the trust ratio", needs="torch"),
    _e("lamb_torch:LambNoDebias", "lamb", "variant", "no bias correction", needs="torch"),
    _e("lamb_torch:LambDecayInGradient", "lamb", "bug", "decay added to the gradient", needs="torch"),
    _e("lamb_torch:LambRatioOfAdamStep", "lamb", "bug", "without the decay", needs="torch"),
    _e("lamb_torch:LambUnguardedRatio", "lamb", "bug", "‖w‖ = 0", needs="torch"),
    # --- RAdam: the authors' code (cached ρ_t, ≥ 5, float32, no step before, decoupled decay), jettify's, slips
    _e("radam_torch:RAdamOfficial", "radam", threshold="official", degenerated_to_sgd=False,
       decoupled_weight_decay=True, needs="torch"),
    _e("radam_torch:PlainRAdam", "radam", threshold="official", degenerated_to_sgd=False,
       decoupled_weight_decay=True, needs="torch"),
    _e("radam_torch:RAdamJettify", "radam", threshold="official", decoupled_weight_decay=True, needs="torch"),
    _e("radam_torch:RAdam", "radam", needs="torch"),
    _e("radam_torch:RAdamThresholdFour", "radam", "variant", "ρ_t > 4", needs="torch"),
    _e("radam_torch:RAdamRhoInfNoMinusOne", "radam", "bug", "ρ_∞ = 2/(1 − β2) instead", needs="torch"),
    _e("radam_torch:RAdamRectifierNoSqrt", "radam", "bug", "without its square root", needs="torch"),
    _e("radam_torch:RAdamSgdPhaseRawMomentum", "radam", "bug", "raw momentum m instead of m̂", needs="torch"),
    # --- timm's Nadam and NAdamW, Adamax and AMSGrad torch subclasses, the historical NAdam/AMSGrad bugs
    _e("timm_style:Nadam", "nadam", needs="torch"),
    _e("timm_style:NAdamW", "nadam", decoupled_weight_decay=True, needs="torch"),
    _e("timm_style:NAdamExtraMu", "nadam", "bug", "one μ too many", decoupled_weight_decay=True, needs="torch"),
    _e("timm_style:Adamax", "adamax", needs="torch"),
    _e("timm_style:AdamaxNormCorrected", "adamax", "bug", "bias-corrected too", needs="torch"),
    _e("timm_style:AMSGrad", "amsgrad", needs="torch"),
    _e("timm_style:AMSGradMaxNotStored", "amsgrad", "bug", "never stored", needs="torch"),
    # --- Keras 2's optimizers in numpy: get_updates(params, grads), epsilon=None meaning 1e-7
    _e("keras2_updates:Adagrad", "adagrad", eps=1e-7),
    _e("keras2_updates:Adadelta", "adadelta", eps=1e-7),
    _e("keras2_updates:Adamax", "adamax", eps=1e-7, eps_placement="outside-max"),
    _e("keras2_updates:Nadam", "nadam", eps=1e-7),
    _e("keras2_updates:AMSGrad", "amsgrad", eps=1e-7, eps_placement="hat"),
    _e("keras2_updates:AdamaxAdamSecondMoment", "adamax", "bug", "Adam's second moment", eps=1e-7,
       eps_placement="outside-max"),
    # --- pure JAX over pytrees (optax's NAdam and AMSGrad forms declared)
    _e("jax_beyond:adagrad", "adagrad", needs="jax"),
    _e("jax_beyond:lion", "lion", needs="jax"),
    _e("jax_beyond:nadam", "nadam", schedule="constant", needs="jax"),
    _e("jax_beyond:amsgrad", "amsgrad", maximum_of="v-hat", needs="jax"),
    _e("jax_beyond:lamb", "lamb", needs="jax"),
    _e("jax_beyond:lion_decay_after", "lion", "bug", "after the sign step", needs="jax"),
    # --- students and blogs: config dicts, β and ε typed in, float32 state, slips
    _e("students_beyond:adagrad", "adagrad"),
    _e("students_beyond:Adamax", "adamax", eps_placement="outside-max"),
    _e("students_beyond:AMSGrad", "amsgrad"),
    _e("students_beyond:RAdamPaper", "radam", threshold="paper"),
    _e("students_beyond:LionFloat32", "lion"),
    _e("students_beyond:AdagradFloat32", "adagrad", eps=1e-7),
    _e("students_beyond:AdamaxNoAbs", "adamax", "bug", "without the absolute value", eps_placement="outside-max"),
    _e("students_beyond:AMSGradStaleMax", "amsgrad", "bug", "previous maximum"),
    _e("students_beyond:AMSGradNoCorrection", "amsgrad", "variant", "without bias correction"),
    _e("students_beyond:NadamRuder", "nadam", "variant", "Ruder"),
    _e("students_beyond:AdagradStaleCache", "adagrad", "bug", "previous sum"),
    # --- optimizers that own their parameters (micrograd-style, tinygrad's LAMB)
    _e("owned_beyond:Adagrad", "adagrad"),
    _e("owned_beyond:Adadelta", "adadelta"),
    _e("owned_beyond:Adamax", "adamax"),
    _e("owned_beyond:Lion", "lion"),
    _e("owned_beyond:LAMB", "lamb"),
    # one accumulator shared by the tensors, summed tensor by tensor: caught, no diagnosis names state shared
    # between parameter tensors (as owned_params:MomentumSharedBuffer)
    _e("owned_beyond:AdagradSharedAccumulator", "adagrad", "bug", None),
    _e("owned_beyond:LionNoSign", "lion", "bug", "no sign"),
    # --- gradient clipping by the global norm as written
    _e("clipping:clip_grad_norm", "grad-clip-norm"),
    _e("clipping:clip_by_global_norm", "grad-clip-norm"),
    _e("clipping:clip_gradients", "grad-clip-norm"),
    _e("clipping:clip_with_torch", "grad-clip-norm", needs="torch"),
    _e("clipping:clip_per_tensor", "grad-clip-norm", "bug", "per tensor"),
    _e("clipping:clip_squared_norm", "grad-clip-norm", "bug", "squared norm"),
    _e("clipping:clip_inverted", "grad-clip-norm", "bug", "inverted"),
    # --- ASGD as written
    _e("asgd_written:ASGD", "asgd", needs="torch"),
    _e("asgd_written:AveragedSGD", "asgd", lambd=0.0),
    _e("asgd_written:ASGDNumpy", "asgd"),
    _e("asgd_written:ASGDEtaFromCurrentStep", "asgd", "bug", "computed from t instead"),
    _e("asgd_written:ASGDReturnsAverage", "asgd", "bug", "average ax returned"),
    # --- library optimizers beyond the notes built in a user's module
    _e("libraries_beyond:torch_nadamw", "nadam", decoupled_weight_decay=True, needs="torch"),
    _e("libraries_beyond:torch_amsgrad", "amsgrad", needs="torch"),
    _e("libraries_beyond:torch_adagrad", "adagrad", needs="torch"),
    _e("libraries_beyond:torch_radam", "radam", decoupled_weight_decay=True, needs="torch"),
    _e("libraries_beyond:optax_lion", "lion", lr=3e-4, weight_decay=1e-3, needs="optax"),
    _e("libraries_beyond:optax_radam", "radam", lr=1e-3, threshold="official", eps_placement="outside",
       needs="optax"),
    _e("libraries_beyond:optax_lamb", "lamb", lr=1e-3, weight_decay=0.01, needs="optax"),
)


#: Entries the test suite leaves to benchmarks/realworld.py, for test time (CI's budget): JAX functions and optax
#: objects (their compilation costs seconds per entry; tests/test_adapters_optax.py and the jax_functional entries
#: keep those paths in the suite), and shapes another suite entry of the same source already covers.
BENCHMARK_ONLY: frozenset[str] = frozenset({
    "jax_beyond:adagrad@adagrad", "jax_beyond:lion@lion", "jax_beyond:nadam@nadam", "jax_beyond:amsgrad@amsgrad",
    "jax_beyond:lamb@lamb", "jax_beyond:lion_decay_after@lion",
    "libraries_beyond:optax_lion@lion", "libraries_beyond:optax_radam@radam", "libraries_beyond:optax_lamb@lamb",
    "lion_torch:LionAuthors@lion", "radam_torch:PlainRAdam@radam", "radam_torch:RAdam@radam",
    "keras2_updates:Adadelta@adadelta", "owned_beyond:Adadelta@adadelta", "asgd_written:ASGDNumpy@asgd",
    "numpy_libs_beyond:Adagrad@adagrad", "libraries_beyond:torch_amsgrad@amsgrad", "timm_style:Nadam@nadam",
    "owned_beyond:Adagrad@adagrad", "owned_beyond:Adamax@adamax", "owned_beyond:Lion@lion",
    "keras2_updates:Adamax@adamax", "students_beyond:Adamax@adamax", "students_beyond:AMSGrad@amsgrad",
    "numpy_libs_beyond:Adadelta@adadelta", "libraries_beyond:torch_radam@radam", "libraries_beyond:torch_nadamw@nadam",
    "radam_torch:RAdamJettify@radam",
})
