"""Derivations for the initialisers (specs ``init-*``, ``relu-bias``): the scales, the ReLU second moment, the
truncated normal's correction, kurtoses."""

from __future__ import annotations

import functools

import sympy as sp

from verify.symbolic.base import Derivation, derivation, _require, _is_zero, _numeric, _positive_root, _inside_range


@derivation("lecun-std")
def lecun_std() -> Derivation:
    """``Var(Σ_{i≤N} x_i w_i) = Nσ²`` for ``x_i = 1``; ``= 1`` gives ``σ = 1/√N``.

    Steps: ``E[(Σ x_i w_i)²] = Σ_i Σ_j x_i x_j E[w_i w_j]`` with
    ``E[w_i w_j] = σ² δ_ij`` (independent, mean 0); ``summation`` with
    ``x_i = 1`` gives ``Nσ²``; ``solve(Nσ² = 1)`` for ``σ > 0``.

    Numeric: ``func(fan_in) -> 1/√fan_in``.

    Source: FORMULAS.md §3; the notes, "Inicialización de pesos"; LeCun et
    al., *Efficient BackProp* (1998).
    """
    name = "lecun-std"
    i, j = sp.symbols("i j", integer=True, positive=True)
    big_n = sp.Symbol("N", integer=True, positive=True)
    sigma = sp.Symbol("σ", positive=True)
    # E[w_i w_j] = σ² δ_ij (independent, mean 0) and x_i = 1.
    inner = _inside_range(sp.summation(sigma ** 2 * sp.KroneckerDelta(i, j), (j, 1, big_n)), i, big_n)
    variance = sp.simplify(sp.summation(inner, (i, 1, big_n)))
    _require(_is_zero(variance - big_n * sigma ** 2), name, f"Var = Nσ², got {variance}")
    std = _positive_root(sp.solve(sp.Eq(variance, 1), sigma), name)
    return Derivation(
        name=name,
        statement=f"Var(Σ_(i≤N) w_i) = {variance} = 1 ⇒ σ = {std}",
        expr=std,
        symbols=(big_n,),
        func=_numeric((big_n,), std),
        steps=(
            "x_i = 1, w_i ~ N(0, σ) independent: E[w_i w_j] = σ² δ_ij",
            f"Var(z) = Σ_i Σ_j x_i x_j E[w_i w_j] = Σ_(i=1..N) σ² = {variance}",
            f"solve({variance} = 1, σ > 0): σ = {std}",
        ),
        source="FORMULAS.md §3; the notes, 'Inicialización de pesos'; LeCun et al. (1998)",
    )


@derivation("relu-second-moment")
def relu_second_moment() -> Derivation:
    """``E[relu(z)²] = σ²/2`` for ``z ~ N(0, σ)``.

    Steps: ``∫_0^∞ z² φ_σ(z) dz`` (the negative half contributes 0).

    Numeric: ``func(sigma) -> sigma²/2``.

    Source: He et al., *Delving Deep into Rectifiers* (ICCV 2015), §2.2.
    """
    name = "relu-second-moment"
    z = sp.Symbol("z", real=True)
    sigma = sp.Symbol("σ", positive=True)
    density = sp.exp(-z ** 2 / (2 * sigma ** 2)) / sp.sqrt(2 * sp.pi * sigma ** 2)
    _require(sp.simplify(sp.integrate(density, (z, -sp.oo, sp.oo))) == 1, name, "the density integrates to 1")
    moment = sp.simplify(sp.integrate(z ** 2 * density, (z, 0, sp.oo)))
    _require(_is_zero(sp.simplify(moment / sigma ** 2) - moment.subs(sigma, 1)), name, "the moment is ∝ σ²")
    return Derivation(
        name=name,
        statement=f"E[relu(z)²] = {moment} for z ~ N(0, σ)",
        expr=moment,
        symbols=(sigma,),
        func=_numeric((sigma,), moment),
        steps=(
            "relu(z)² = z² for z > 0, 0 otherwise",
            f"E[relu(z)²] = ∫_0^∞ z² φ_σ(z) dz = {moment}",
        ),
        source="He, Zhang, Ren & Sun, Delving Deep into Rectifiers (ICCV 2015), §2.2",
    )


@derivation("he-std")
def he_std() -> Derivation:
    """He/Kaiming: ``N σ_w² E[relu(z)²]/σ_z² = 1`` gives ``σ_w = √(2/N)``.

    Steps: ``Var(y_l) = N σ_w² E[x_l²]`` with ``x_l = relu(y_{l−1})`` and
    ``E[x_l²] = Var(y_{l−1})/2`` (:func:`relu_second_moment`); requiring
    ``Var(y_l) = Var(y_{l−1})`` and solving for ``σ_w > 0``. The factor
    ``2 = σ²/E[relu(z)²]`` is what separates He from LeCun.

    Numeric: ``func(fan_in) -> √(2/fan_in)``.

    Source: FORMULAS.md §3; He et al. (ICCV 2015), eq. 10.
    """
    name = "he-std"
    moment = relu_second_moment()
    (sigma_z,) = moment.symbols
    big_n = sp.Symbol("N", integer=True, positive=True)
    sigma_w = sp.Symbol("σ_w", positive=True)
    factor = sp.simplify(sigma_z ** 2 / moment.expr)
    var_next = big_n * sigma_w ** 2 * moment.expr
    std = _positive_root(sp.solve(sp.Eq(var_next, sigma_z ** 2), sigma_w), name)
    (lecun_n,) = lecun_std().symbols
    _require(_is_zero(sp.simplify((std / lecun_std().expr.subs(lecun_n, big_n)) ** 2) - factor),
             name, f"(He/LeCun)² equals ReLU's factor {factor}")
    return Derivation(
        name=name,
        statement=f"N σ_w² E[relu(z)²] = σ_z² ⇒ σ_w = {std} (factor {factor} over LeCun)",
        expr=std,
        symbols=(big_n,),
        func=_numeric((big_n,), std),
        steps=(
            "Var(y_l) = N σ_w² E[x_l²], x_l = relu(y_(l−1))",
            f"E[x_l²] = {moment.expr} with σ² = Var(y_(l−1))",
            f"solve(N σ_w² {moment.expr} = σ², σ_w > 0): σ_w = {std}",
            f"factor over LeCun: σ²/E[relu(z)²] = {factor}",
        ),
        source="FORMULAS.md §3; He et al., Delving Deep into Rectifiers (ICCV 2015), eq. 10",
    )


@derivation("xavier-std")
def xavier_std() -> Derivation:
    """Glorot/Xavier: ``σ² = 2/(fan_in + fan_out)``.

    Steps: the forward condition ``fan_in σ² = 1`` and the backward condition
    ``fan_out σ² = 1`` are solved separately; they cannot both hold, and the
    compromise is their harmonic mean (Glorot & Bengio eq. 12,
    ``Var = 2/(n_j + n_{j+1})``).

    Numeric: ``func(fan_in, fan_out) -> √(2/(fan_in + fan_out))``.

    Source: FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eqs. 10–12.
    """
    name = "xavier-std"
    fan_in, fan_out = sp.symbols("fan_in fan_out", positive=True)
    var = sp.Symbol("v", positive=True)
    (v_fwd,) = sp.solve(sp.Eq(fan_in * var, 1), var)
    (v_bwd,) = sp.solve(sp.Eq(fan_out * var, 1), var)
    v_comp = sp.simplify(2 / (1 / v_fwd + 1 / v_bwd))
    sigma = sp.Symbol("σ", positive=True)
    std = _positive_root(sp.solve(sp.Eq(sigma ** 2, v_comp), sigma), name)
    _require(_is_zero(v_comp.subs(fan_out, fan_in) - v_fwd), name, "reduces to LeCun when fan_in = fan_out")
    return Derivation(
        name=name,
        statement=f"σ² = {v_comp}, σ = {std}",
        expr=std,
        symbols=(fan_in, fan_out),
        func=_numeric((fan_in, fan_out), std),
        steps=(
            f"forward: fan_in σ² = 1 ⇒ σ² = {v_fwd}",
            f"backward: fan_out σ² = 1 ⇒ σ² = {v_bwd}",
            f"compromise (harmonic mean, Glorot & Bengio eq. 12): σ² = {v_comp}",
        ),
        source="FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eq. 12",
    )


@derivation("uniform-bound")
def uniform_bound() -> Derivation:
    """``Var U(−a, a) = a²/3``, so variance ``σ²`` needs ``a = √3 σ``.

    Steps: ``∫_{−a}^{a} x/(2a) dx = 0`` and ``∫_{−a}^{a} x²/(2a) dx = a²/3``;
    ``solve(a²/3 = σ²)`` for ``a > 0``.

    Numeric: ``func(sigma) -> √3·sigma``.

    Source: FORMULAS.md §3; Glorot & Bengio (2010), eq. 16.
    """
    name = "uniform-bound"
    x = sp.Symbol("x", real=True)
    a, sigma = sp.symbols("a σ", positive=True)
    mean = sp.integrate(x / (2 * a), (x, -a, a))
    _require(mean == 0, name, "U(−a, a) has mean 0")
    var = sp.simplify(sp.integrate(x ** 2 / (2 * a), (x, -a, a)))
    bound = _positive_root(sp.solve(sp.Eq(var, sigma ** 2), a), name)
    return Derivation(
        name=name,
        statement=f"Var U(−a, a) = {var} = σ² ⇒ a = {bound}",
        expr=bound,
        symbols=(sigma,),
        func=_numeric((sigma,), bound),
        steps=(
            f"E[x] = ∫ x/(2a) dx = {mean}",
            f"Var = ∫_(−a)^a x²/(2a) dx = {var}",
            f"solve({var} = σ², a > 0): a = {bound}",
        ),
        source="FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eq. 16",
    )


@functools.lru_cache(maxsize=None)
def _truncated_normal_moments(bound: int) -> tuple[sp.Expr, sp.Expr]:
    """Second and fourth moments of N(0, 1) truncated to [−bound, bound] (closed form)."""
    x = sp.Symbol("x", real=True)
    kernel = sp.exp(-x ** 2 / 2)
    mass = sp.integrate(kernel, (x, -bound, bound))
    m2 = sp.simplify(sp.integrate(x ** 2 * kernel, (x, -bound, bound)) / mass)
    m4 = sp.simplify(sp.integrate(x ** 4 * kernel, (x, -bound, bound)) / mass)
    return m2, m4


@derivation("truncated-normal-std")
def truncated_normal_std() -> Derivation:
    """Standard deviation of N(0, 1) truncated to [−2, 2]: ``0.87962566103423978…``.

    Steps: ``Z = ∫_{−2}^{2} e^{−x²/2} dx`` and ``∫ x² e^{−x²/2} dx`` in
    closed form (erf and exp); ``√(m2)`` evaluated to 30 digits. Truncated
    initialisers divide σ by it to keep the variance σ².

    Numeric: ``func() -> 0.8796256610342397…`` (a float).

    Source: FORMULAS.md §3; Keras/TF ``variance_scaling`` (truncated normal).
    """
    name = "truncated-normal-std"
    m2, _ = _truncated_normal_moments(2)
    std = sp.sqrt(m2)
    _require(m2.has(sp.erf), name, f"a closed form in erf, got {m2}")
    value = float(std.evalf(30))
    _require(0.0 < value < 1.0, name, f"truncation lowers the std below 1, got {value}")
    return Derivation(
        name=name,
        statement=f"std N(0,1)|[−2,2] = √({m2}) = {sp.N(std, 20)}",
        expr=std,
        symbols=(),
        func=lambda: value,
        steps=(
            "Z = ∫_(−2)^2 e^(−x²/2) dx",
            f"m2 = ∫_(−2)^2 x² e^(−x²/2) dx / Z = {m2}",
            f"std = √m2 = {sp.N(std, 20)}",
        ),
        source="FORMULAS.md §3; Keras/TensorFlow variance_scaling (truncated normal)",
    )


KURTOSIS_DISTRIBUTIONS = ("uniform", "truncated", "normal")


@derivation("excess-kurtosis-uniform", variants={"excess-kurtosis-truncated-normal": ("truncated",),
                                               "excess-kurtosis-normal": ("normal",)})
def excess_kurtosis(distribution: str = "uniform") -> Derivation:
    """Excess kurtosis ``E[x⁴]/E[x²]² − 3`` of a zero-mean distribution.

    * ``"uniform"``: ``U(−a, a)``, integrated with symbolic ``a``: ``−6/5``
      (independent of ``a``);
    * ``"truncated"``: N(0, 1) truncated to [−2, 2] (the truncated
      initialisers' shape; scale-free): closed form in erf, ≈ −0.6345;
    * ``"normal"``: N(0, σ): 0.

    The variance tests use it: ``Var(s²) = σ⁴ (2/(n−1) + κ/n)`` for a sample
    of ``n`` values with excess kurtosis ``κ``.

    Numeric: ``func() -> float``.

    Source: FORMULAS.md §3 (the initialisers' distributions).
    """
    if distribution not in KURTOSIS_DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {KURTOSIS_DISTRIBUTIONS}, got {distribution!r}")
    x = sp.Symbol("x", real=True)
    label = {"uniform": "uniform", "truncated": "truncated-normal", "normal": "normal"}[distribution]
    name = f"excess-kurtosis-{label}"
    if distribution == "uniform":
        a = sp.Symbol("a", positive=True)
        m2 = sp.integrate(x ** 2 / (2 * a), (x, -a, a))
        m4 = sp.integrate(x ** 4 / (2 * a), (x, -a, a))
        what = "U(−a, a)"
    elif distribution == "normal":
        s = sp.Symbol("σ", positive=True)
        density = sp.exp(-x ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
        m2 = sp.integrate(x ** 2 * density, (x, -sp.oo, sp.oo))
        m4 = sp.integrate(x ** 4 * density, (x, -sp.oo, sp.oo))
        what = "N(0, σ)"
    else:
        m2, m4 = _truncated_normal_moments(2)
        what = "N(0, 1) truncated to [−2, 2]"
    kurt = sp.simplify(m4 / m2 ** 2 - 3)
    _require(not kurt.free_symbols, name, f"scale-free, got {kurt}")
    value = float(kurt.evalf(30))
    return Derivation(
        name=name,
        statement=f"excess kurtosis of {what} = {kurt if kurt.is_Rational else sp.N(kurt, 15)}",
        expr=kurt,
        symbols=(),
        func=lambda: value,
        steps=(f"E[x²] = {m2}", f"E[x⁴] = {m4}", f"E[x⁴]/E[x²]² − 3 = {kurt}"),
        source="FORMULAS.md §3 (initialiser distributions)",
    )
