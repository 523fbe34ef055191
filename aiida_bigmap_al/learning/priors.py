"""Prior means: physical models that the surrogate only has to correct.

A campaign that starts from one measurement knows almost nothing; a published conductivity law
already knows that conductivity rises with temperature and peaks at an intermediate salt
concentration. The prior's amplitude is fitted to the measurements, and optionally its
concentration scale (with a penalty that keeps it near 1), so that a law made for a neighbouring
electrolyte (Landesfeind 2019 is EC:EMC 3:7 without PC) helps without having to be right.

On the FZJ benchmark the amplitude alone works best: with a few measurements a fitted
concentration scale mostly chases noise, and moves the law's maximum away from where it is.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..simulator import landesfeind2019_law

__all__ = ["ConductivityPrior", "PRIORS"]

#: Concentration scales tried when fitting the prior: 0.6x to 1.6x, log-spaced.
_SCALES = np.exp(np.linspace(np.log(0.6), np.log(1.6), 41))


class ConductivityPrior(BaseEstimator):
    """Landesfeind & Gasteiger (2019) with a fitted amplitude and concentration scale.

    :param c_column: column of the molality (mol/kg) in X.
    :param temperature: the fixed temperature (K) of the campaign, or None when X has one.
    :param temperature_column: column of the temperature (K) in X, when it varies.
    :param scale_sd: spread of the log-normal penalty on the concentration scale; 0 keeps the
        scale at 1 and fits the amplitude only.
    """

    def __init__(self, c_column, temperature=None, temperature_column=None, scale_sd=0.2):
        if (temperature is None) == (temperature_column is None):
            raise ValueError("give either a fixed temperature or a temperature column, not both")
        if scale_sd < 0:
            raise ValueError(f"scale_sd must be >= 0, got {scale_sd}")
        self.c_column = c_column
        self.temperature = temperature
        self.temperature_column = temperature_column
        self.scale_sd = scale_sd

    def _law(self, X, scale):
        X = np.asarray(X, dtype=float)
        T = X[:, self.temperature_column] if self.temperature is None else self.temperature
        return np.nan_to_num(landesfeind2019_law(X[:, self.c_column] * scale, T))

    def fit(self, X, y):
        """Choose the scale (penalised least squares over a grid) and amplitude (closed form)."""
        y = np.asarray(y, dtype=float)
        norm = max(float(np.var(y)) * len(y), 1e-9)
        best = None
        for scale in _SCALES if self.scale_sd > 0 else (1.0,):
            law = self._law(X, scale)
            amplitude = float(law @ y / max(law @ law, 1e-12))
            loss = np.sum((y - amplitude * law) ** 2) / norm
            if self.scale_sd > 0:
                loss += (np.log(scale) / self.scale_sd) ** 2
            if best is None or loss < best[0]:
                best = (loss, scale, amplitude)
        _, self.scale_, self.amplitude_ = best
        return self

    def __call__(self, X):
        check_is_fitted(self)
        return self.amplitude_ * self._law(X, self.scale_)

    @property
    def parameters(self):
        check_is_fitted(self)
        return {"amplitude": float(self.amplitude_), "scale": float(self.scale_)}


PRIORS = {"landesfeind2019": ConductivityPrior}
