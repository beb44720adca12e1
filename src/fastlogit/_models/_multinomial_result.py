"""The fitted multinomial model: coefficients, predictions, and statistics on first access."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

import numpy as np
from scipy.special import gammaln, xlogy

from fastlogit._core._threads import resolve_threads
from fastlogit._input._training import MultinomialTrainingData
from fastlogit._input._validate import as_design, check_feature_names
from fastlogit._input._validate_multi import as_real_matrix
from fastlogit._models._pickling import VersionedPickle
from fastlogit.backend._softmax_objective import softmax_scores

_RAW, _PROBA, _LOG_PROBA = 0, 1, 2


@dataclass(frozen=True, repr=False, eq=False)
class MultinomialResult(VersionedPickle):
    """A fitted multinomial (softmax) logistic regression.

    Attributes
    ----------
    coef : ndarray of shape (n_classes, n_features)
        One coefficient vector per class (symmetric parametrisation); with a pure
        ridge every column sums to zero over the classes (with an L1 part the
        penalty picks the representative).
    intercept : ndarray of shape (n_classes,)
        Intercepts, summing to zero (they are defined only up to a common
        constant); zeros when fit_intercept=False.
    classes : ndarray of shape (n_classes,) or None
        The class labels (sorted) when the fit was given labels; None for a
        count matrix, whose columns are the classes 0..K-1.
    objective : float
        F(b, W): the penalised negative log-likelihood without the
        multinomial-coefficient constant, unscaled.
    grad_norm : float
        ``max |dF/dtheta| / sum_i s_i N_i`` at the answer, in the solver's
        standardised coordinates (the quantity compared with ``pgtol``).
    n_iter, n_fev : int
        Solver iterations and objective+gradient evaluations (passes over X).
    converged : bool
    message : str
    solver : str
    settings : dict
    n_rows, n_features, n_classes : int
    feature_names : tuple of str or None
    """

    coef: np.ndarray
    intercept: np.ndarray
    classes: Optional[np.ndarray]
    objective: float
    grad_norm: float
    n_iter: int
    n_fev: int
    converged: bool
    message: str
    solver: str
    settings: dict
    n_rows: int
    n_features: int
    feature_names: Optional[tuple] = None
    _training: Optional[MultinomialTrainingData] = field(default=None, repr=False)

    @property
    def n_classes(self) -> int:
        return int(self.intercept.shape[0])

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"MultinomialResult({self.n_rows} rows x {self.n_features} features, "
                f"{self.n_classes} classes, lam={self.settings.get('lam')}, "
                f"objective={self.objective:.10g}, {self.n_iter} iterations, "
                f"{self.n_fev} evaluations, {state})")

    @cached_property
    def _coef_feature_major(self) -> np.ndarray:
        return np.ascontiguousarray(self.coef.T)

    def _scores(self, X: Any, offset: Any, threads: Optional[int], transform: int
                ) -> np.ndarray:
        check_feature_names(X, self.feature_names)
        design = as_design(X, "X", self.n_features)
        off = None if offset is None else as_real_matrix(
            offset, "offset", (design.n_rows, self.n_classes))
        return softmax_scores(design, self.intercept, self._coef_feature_major, off, transform,
                              resolve_threads(threads))

    # -- predictions ---------------------------------------------------------

    def decision_function(self, X: Any, offset: Any = None, threads: Optional[int] = None
                          ) -> np.ndarray:
        """Scores z_ik = offset_ik + intercept_k + x_i . coef_k of new rows.

        Parameters
        ----------
        X : {ndarray, csr_matrix} of shape (n_rows, n_features)
            Dense or sparse, validated like the training X.
        offset : ndarray of shape (n_rows, n_classes), optional
        threads : int, optional
            As in ``fit_multinomial``.

        Returns
        -------
        ndarray of shape (n_rows, n_classes)

        Raises
        ------
        ValueError
            When X has the wrong number of columns, or offset the wrong shape, or (a
            DataFrame, with the model fitted on named columns) other column names or
            another column order.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit_multinomial(np.eye(3), y=["a", "b", "c"], lam=1.0)
        >>> res.decision_function(np.eye(3)).round(3)
        array([[ 0.49 , -0.245, -0.245],
               [-0.245,  0.49 , -0.245],
               [-0.245, -0.245,  0.49 ]])
        """
        return self._scores(X, offset, threads, _RAW)

    def predict_proba(self, X: Any, offset: Any = None, threads: Optional[int] = None
                      ) -> np.ndarray:
        """Class probabilities softmax(z_i) of new rows, shape (n_rows, n_classes).

        Parameters and errors as ``decision_function``.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit_multinomial(np.eye(3), y=["a", "b", "c"], lam=1.0)
        >>> res.predict_proba(np.eye(3)).round(3)
        array([[0.51 , 0.245, 0.245],
               [0.245, 0.51 , 0.245],
               [0.245, 0.245, 0.51 ]])
        """
        return self._scores(X, offset, threads, _PROBA)

    def predict_log_proba(self, X: Any, offset: Any = None, threads: Optional[int] = None
                          ) -> np.ndarray:
        """log softmax(z_i), shape (n_rows, n_classes), computed stably (finite however
        extreme the scores). Parameters and errors as ``decision_function``.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit_multinomial(np.eye(3), y=["a", "b", "c"], lam=1.0)
        >>> res.predict_log_proba(np.eye(3)[:1]).round(3)
        array([[-0.673, -1.407, -1.407]])
        """
        return self._scores(X, offset, threads, _LOG_PROBA)

    def predict(self, X: Any, offset: Any = None, threads: Optional[int] = None) -> np.ndarray:
        """The most probable class of each new row, shape (n_rows,): a label from
        ``classes``, or the column index of the count matrix when the fit was given
        counts. Parameters and errors as ``decision_function``.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit_multinomial(np.eye(3), y=["a", "b", "c"], lam=1.0)
        >>> res.predict(np.eye(3))
        array(['a', 'b', 'c'], dtype='<U1')
        """
        best = np.argmax(self._scores(X, offset, threads, _RAW), axis=1)
        return best if self.classes is None else self.classes[best]

    # -- statistics on the training data ---------------------------------------

    def _train(self) -> MultinomialTrainingData:
        if self._training is None:
            raise self._no_data_error()
        return self._training

    @cached_property
    def fitted_log_proba(self) -> np.ndarray:
        """log p_ik on the training rows, shape (n_rows, n_classes)."""
        t = self._train()
        threads = resolve_threads(self.settings.get("threads"))
        return softmax_scores(t.design, self.intercept, self._coef_feature_major, t.offset,
                              _LOG_PROBA, threads)

    def _weighted_sum(self, per_row: np.ndarray) -> float:
        s = self._train().sample_weight
        return float(per_row.sum() if s is None else s @ per_row)

    @cached_property
    def loglik(self) -> float:
        """Multinomial log-likelihood sum_i s_i log P(c_i; N_i, p_i), constant included.

        For a count matrix the multinomial coefficient log(N_i! / prod_k c_ik!)
        is included (log-gamma, so non-integer counts are allowed); for labels
        it is zero and this is sum_i s_i log p_{i, y_i}.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit_multinomial(np.eye(3), y=["a", "b", "c"], lam=1.0)
        >>> round(res.loglik, 4), round(res.deviance, 4)
        (-2.0181, 4.0361)
        """
        t = self._train()
        lp = self.fitted_log_proba
        if t.counts is None:
            return self._weighted_sum(lp[np.arange(lp.shape[0]), t.labels])
        c = t.counts
        log_coef = gammaln(c.sum(axis=1) + 1.0) - gammaln(c + 1.0).sum(axis=1)
        return self._weighted_sum(log_coef + np.where(c > 0, c * lp, 0.0).sum(axis=1))

    @cached_property
    def deviance(self) -> float:
        """2 sum_i s_i sum_k c_ik log(c_ik / (N_i p_ik)): twice the gap to the saturated model."""
        t = self._train()
        lp = self.fitted_log_proba
        if t.counts is None:
            return -2.0 * self._weighted_sum(lp[np.arange(lp.shape[0]), t.labels])
        c = t.counts
        n = c.sum(axis=1)
        saturated = xlogy(c, c).sum(axis=1) - xlogy(n, n)
        return 2.0 * self._weighted_sum(saturated - np.where(c > 0, c * lp, 0.0).sum(axis=1))
