"""Two-group, two-period ATT estimators for panel data with influence functions.

These are the building blocks of :func:`analysis.did.att_gt`, following Sant'Anna
and Zhao (2020) and the R package ``DRDID`` (``reg_did_panel``,
``std_ipw_did_panel``, ``drdid_panel``). With ``ΔY = Y_t - Y_b``, treatment
indicator ``D``, covariates ``X`` (first column an intercept) and weights ``w``
(normalised to mean one):

* outcome regression: ``ATT = E_w[ΔY | D=1] - E_w[X'β̂ | D=1]``, with β̂ the OLS
  fit of ΔY on X among the comparison units;
* inverse probability weighting (Hájek): ``ATT = E[w D ΔY]/E[w D] -
  E[w p̂(X)(1-D)/(1-p̂(X)) ΔY] / E[w p̂(X)(1-D)/(1-p̂(X))]`` with a logit p̂;
* doubly robust: the IPW form applied to ``ΔY - X'β̂``.

Each returns the estimate and its influence function (one value per unit), whose
mean square over ``n`` gives the variance: ``Var(ATT) ≈ mean(ψ²)/n``.
"""

from __future__ import annotations

import numpy as np

from analysis.did.checks import NotEstimable

PS_CLIP = 1 - 1e-6


def _logit(
    D: np.ndarray, X: np.ndarray, w: np.ndarray, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton–Raphson: fitted p and (X'WX)^-1.

    Raises :class:`NotEstimable` where the propensity score has no estimate: the
    covariates are collinear (``singular_design``), or they separate the treated from
    the comparison units, so that the fitted probabilities run to 0 or 1 and the
    information matrix ``X'WX`` becomes singular (``separation``).
    """
    if np.linalg.matrix_rank(X * np.sqrt(w)[:, None]) < X.shape[1]:
        raise NotEstimable(
            "singular_design", "the propensity score's covariates are collinear in this comparison"
        )
    beta = np.zeros(X.shape[1])
    # Under separation X'β runs to ±∞ and exp overflows to inf, giving p = 0 exactly:
    # the case is detected below, the warning would only be noise in the build log.
    with np.errstate(over="ignore"):
        return _newton(D, X, w, beta, iterations)


def _newton(D, X, w, beta, iterations):
    """The Newton–Raphson iterations of :func:`_logit` and its checks."""
    try:
        for _ in range(iterations):
            p = 1 / (1 + np.exp(-(X @ beta)))
            W = w * p * (1 - p)
            hessian = X.T @ (W[:, None] * X)
            step = np.linalg.solve(hessian, X.T @ (w * (D - p)))
            beta += step
            if np.max(np.abs(step)) < 1e-12:
                break
        p = 1 / (1 + np.exp(-(X @ beta)))
        W = w * p * (1 - p)
        vcov = np.linalg.inv(X.T @ (W[:, None] * X))
    except np.linalg.LinAlgError:
        raise NotEstimable(
            "separation",
            "the covariates separate the treated from the comparison units "
            "(propensity scores of 0 or 1: singular information matrix)",
        ) from None
    # A treated unit whose covariates no comparison unit shares has a propensity
    # score of 1: no comparison stands for it (no overlap), and the comparison
    # weights p/(1-p) would rest on the clip. Comparison units with scores near 0
    # only get no weight, which is what they should get.
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(vcov))) or np.any(
        p[D == 1] >= PS_CLIP
    ):
        raise NotEstimable(
            "separation",
            "the covariates separate the treated from the comparison units "
            "(propensity scores of 1: no comparison unit is like some treated units)",
        )
    return np.minimum(p, PS_CLIP), vcov


def _ols_controls(
    dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ΔY on X among comparison units: fitted values for all and the linear representation."""
    n = len(dy)
    wols = w * (1 - D)
    beta = np.linalg.lstsq(X * np.sqrt(wols)[:, None], dy * np.sqrt(wols), rcond=None)[0]
    fitted = X @ beta
    try:
        xpx_inv = np.linalg.inv((wols[:, None] * X).T @ X / n)
    except np.linalg.LinAlgError:
        raise NotEstimable(
            "singular_design",
            "the outcome regression's covariates are collinear among the comparison units",
        ) from None
    linear_rep = (wols * (dy - fitted))[:, None] * X @ xpx_inv
    return fitted, linear_rep


def reg_did(dy, D, X, w):
    """Outcome-regression DiD (``reg_did_panel``)."""
    w = w / w.mean()
    fitted, lin_ols = _ols_controls(dy, D, X, w)
    w_treat = w * D
    w_cont = w * D
    att_treat = w_treat * dy
    att_cont = w_cont * fitted
    eta_treat = att_treat.mean() / w_treat.mean()
    eta_cont = att_cont.mean() / w_cont.mean()
    inf_treat = (att_treat - w_treat * eta_treat) / w_treat.mean()
    m1 = (w_cont[:, None] * X).mean(axis=0)
    inf_control = ((att_cont - w_cont * eta_cont) + lin_ols @ m1) / w_cont.mean()
    return eta_treat - eta_cont, inf_treat - inf_control


def ipw_did(dy, D, X, w):
    """Standardised inverse-probability-weighted DiD (``std_ipw_did_panel``)."""
    w = w / w.mean()
    n = len(dy)
    ps, vcov = _logit(D, X, w)
    w_treat = w * D
    w_cont = w * ps * (1 - D) / (1 - ps)
    att_treat = w_treat * dy
    att_cont = w_cont * dy
    eta_treat = att_treat.mean() / w_treat.mean()
    eta_cont = att_cont.mean() / w_cont.mean()
    lin_ps = (w * (D - ps))[:, None] * X @ (vcov * n)
    inf_treat = (att_treat - w_treat * eta_treat) / w_treat.mean()
    m2 = ((w_cont * (dy - eta_cont))[:, None] * X).mean(axis=0)
    inf_control = ((att_cont - w_cont * eta_cont) + lin_ps @ m2) / w_cont.mean()
    return eta_treat - eta_cont, inf_treat - inf_control


def dr_did(dy, D, X, w):
    """Doubly robust DiD (``drdid_panel``)."""
    w = w / w.mean()
    n = len(dy)
    ps, vcov = _logit(D, X, w)
    fitted, lin_ols = _ols_controls(dy, D, X, w)
    w_treat = w * D
    w_cont = w * ps * (1 - D) / (1 - ps)
    resid = dy - fitted
    att_treat = w_treat * resid
    att_cont = w_cont * resid
    eta_treat = att_treat.mean() / w_treat.mean()
    eta_cont = att_cont.mean() / w_cont.mean()
    lin_ps = (w * (D - ps))[:, None] * X @ (vcov * n)
    inf_treat = (
        (att_treat - w_treat * eta_treat) - lin_ols @ (w_treat[:, None] * X).mean(axis=0)
    ) / w_treat.mean()
    m2 = ((w_cont * (resid - eta_cont))[:, None] * X).mean(axis=0)
    m3 = (w_cont[:, None] * X).mean(axis=0)
    inf_control = ((att_cont - w_cont * eta_cont) + lin_ps @ m2 - lin_ols @ m3) / w_cont.mean()
    return eta_treat - eta_cont, inf_treat - inf_control


def means_did(dy, D, w):
    """Without covariates all three estimators are the weighted difference in mean ΔY."""
    w = w / w.mean()
    w_treat = w * D
    w_cont = w * (1 - D)
    eta_treat = (w_treat * dy).mean() / w_treat.mean()
    eta_cont = (w_cont * dy).mean() / w_cont.mean()
    inf = (w_treat * (dy - eta_treat)) / w_treat.mean() - (w_cont * (dy - eta_cont)) / w_cont.mean()
    return eta_treat - eta_cont, inf


ESTIMATORS = {"reg": reg_did, "ipw": ipw_did, "dr": dr_did}
