"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV"):
the probabilistic models marketing science uses for repeat purchasing, implemented here because the
`lifetimes` package no longer imports on current setuptools. Checked against the parameters published for
CDNOW (tests/prediction/test_bgnbd.py).

Inputs per customer, in one time unit (weeks by default): x = repeat purchases (distinct purchase days
after the first), t_x = time of the last purchase since the first, T = time from the first purchase to
as_of; for Gamma-Gamma, m = the mean value of the repeat purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from prediction.events import DAY, EventLog


@dataclass
class RFSummary:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray  # mean repeat purchase value (NaN when x == 0)
    customer: np.ndarray  # bool: made a purchase before as_of


def summarise(log: EventLog, purchase: np.ndarray, as_of: float, unit_days: float = 7.0) -> RFSummary:
    """Purchases (events selected by `purchase`) before as_of, aggregated by day as the literature does."""
    n = log.n_profiles
    sel = purchase & (log.time < as_of)
    p, day = log.profile[sel], np.floor(log.time[sel] / DAY)
    v = np.nan_to_num(log.value[sel])
    order = np.lexsort((day, p))
    p, day, v = p[order], day[order], v[order]
    key_change = np.r_[True, (p[1:] != p[:-1]) | (day[1:] != day[:-1])] if p.size else np.zeros(0, bool)
    grp = np.cumsum(key_change) - 1
    dp, dday = p[key_change], day[key_change]
    dval = np.bincount(grp, weights=v) if p.size else np.zeros(0)
    days_per = np.bincount(dp, minlength=n)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, dp, dday)
    np.maximum.at(last, dp, dday)
    customer = days_per > 0
    x = np.maximum(days_per - 1, 0).astype(float)
    t_x = np.where(customer, (last - first) / unit_days, 0.0)
    T = np.where(customer, (np.floor(as_of / DAY) - first) / unit_days, 0.0)
    # repeat value: all purchase-day values minus the first day's
    total = np.bincount(dp, weights=dval, minlength=n)
    is_first = np.r_[True, dp[1:] != dp[:-1]] if dp.size else np.zeros(0, bool)
    first_val = np.zeros(n)
    first_val[dp[is_first]] = dval[is_first]
    m = np.where(x > 0, (total - first_val) / np.maximum(x, 1), np.nan)
    return RFSummary(x, t_x, T, m, customer)


FIT_CUSTOMERS = 50_000  # population parameters (3 or 4 numbers) are estimated from at most this many customers


def fit_sample(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns restricted to a fixed random FIT_CUSTOMERS customers when there are more: each likelihood
    evaluation is a pass over every customer, and the optimiser makes hundreds; a sample of 50,000 pins a
    handful of population parameters as well as a million do. Forecasts are still made for everyone."""
    n = len(columns[0])
    if n <= FIT_CUSTOMERS:
        return columns
    rows = np.sort(np.random.default_rng(0).choice(n, FIT_CUSTOMERS, replace=False))
    return tuple(c[rows] for c in columns)


class BetaGeoFitter:
    """BG/NBD. Learned: r_, alpha_, a_, b_."""

    def fit(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BetaGeoFitter:
        x, t_x, T = fit_sample(x, t_x, T)
        def nll(logp: np.ndarray) -> float:
            r, alpha, a, b = np.exp(logp)
            a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
            a3 = -(r + x) * np.log(alpha + T)
            with np.errstate(divide="ignore", invalid="ignore"):
                a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
                              - (r + x) * np.log(alpha + t_x), -np.inf)
            return float(-(a1 + a2 + np.logaddexp(a3, a4)).sum())

        res = minimize(nll, np.log([0.5, 5.0, 0.8, 2.5]), method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6})
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(res.x))
        return self

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T]."""
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        den = 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return np.asarray(num / den)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        return np.asarray(1.0 / (1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12)
                                 * ((alpha + T) / (alpha + t_x)) ** (r + x)))


class GammaGammaFitter:
    """Gamma-Gamma spend per transaction. Learned: p_, q_, v_ (the literature's gamma)."""

    def fit(self, x: np.ndarray, m: np.ndarray) -> GammaGammaFitter:
        keep = (x > 0) & np.isfinite(m) & (m > 0)
        x, m = fit_sample(x[keep], m[keep])

        def nll(logp: np.ndarray) -> float:
            p, q, v = np.exp(logp)
            ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
                  + p * x * np.log(x) - (p * x + q) * np.log(v + m * x))
            return float(-ll.sum())

        res = minimize(nll, np.log([1.0, 1.0, 1.0]), method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6})
        self.p_, self.q_, self.v_ = (float(v) for v in np.exp(res.x))
        self.population_mean_ = float(self.p_ * self.v_ / (self.q_ - 1)) if self.q_ > 1 else float(np.mean(m))
        return self

    def expected_value(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = self.p_, self.q_, self.v_
        mm = np.nan_to_num(m)
        est = (v + mm * x) * p / (p * x + q - 1)
        return np.where(x > 0, est, self.population_mean_)
