"""``BinomialObjective``: the binomial negative log-likelihood for other libraries to optimise.

    L(theta) = sum_i s_i [n_i log1pexp(z_i) - k_i z_i],   z_i = o_i + b + x_i . w
    theta    = [b, w_1, ..., w_p]   (w alone when fit_intercept=False)

No penalty and no scaling: the caller owns both (see the backend's docstring for
adding fastlogit's elastic net).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit._core import _hessian, _kernels, _special
from fastlogit._input._training import training_data
from fastlogit._input._validate import as_design, as_row_vector
from fastlogit.backend._curvature import Curvature
from fastlogit.backend._params import ThreadsMixin, as_out, as_params, no_nan


class BinomialObjective(ThreadsMixin):
    """The binomial negative log-likelihood of (X, n, k) and its derivatives.

    Minimise ``value`` to fit a logistic regression: with an added penalty it is
    what ``fastlogit.fit`` minimises. Each method is one compiled pass over X
    (OpenMP threads, the GIL released), reads X in place and allocates nothing the
    size of X. The object holds only read-only views of the validated inputs, so
    one object may be used from several threads at once, and it keeps no global
    state.

    Parameters
    ----------
    X : {ndarray, csr_matrix, csr_array} of shape (n_rows, n_features)
        Dense (C or Fortran order) or CSR (int32 or int64 indices), float32 or
        float64; never copied or modified (other inputs are converted once).
    n, k : array-like of shape (n_rows,)
        Trials and successes, 0 <= k <= n (non-integer values allowed).
    y : array-like of shape (n_rows,), optional
        0/1 labels instead of n and k (then n = 1 and k = y).
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative row weights s_i.
    offset : array-like of shape (n_rows,), optional
        Fixed part o_i of each row's linear predictor.
    fit_intercept : bool, default True
        Whether theta starts with the intercept b; otherwise b = 0.
    threads : int, optional
        Kernel threads (default: threadpoolctl's limit, OMP_NUM_THREADS, or the cores).

    Raises
    ------
    ValueError, TypeError
        The same checks and messages as ``fastlogit.fit``: malformed X, k outside
        [0, n], negative weights, non-finite values, mismatched lengths...

    Notes
    -----
    The gradient is X~^T r with r_i = s_i (n_i sigmoid(z_i) - k_i) and the
    Hessian X~^T D X~ with D_ii = s_i n_i sigmoid(z_i) (1 - sigmoid(z_i)),
    X~ = [1, X] (the column of ones only with an intercept).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> from fastlogit.backend import BinomialObjective
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> obj = BinomialObjective(X, n=[10, 10, 10, 10], k=[1, 4, 6, 9])
    >>> obj.n_params
    2
    >>> sol = minimize(obj.value_and_grad, np.zeros(obj.n_params), jac=True,
    ...                hessp=obj.hessp, method="trust-ncg", options={"gtol": 1e-10})
    >>> np.round(sol.x, 6)              # R: glm(cbind(k, n - k) ~ x, binomial)
    array([-1.991944,  1.327962])
    >>> round(obj.deviance(sol.x), 6)
    0.394636
    """

    def __init__(self, X: Any, n: Any = None, k: Any = None, *, y: Any = None,
                 sample_weight: Any = None, offset: Any = None, fit_intercept: bool = True,
                 threads: Optional[int] = None) -> None:
        data = training_data(X, n, k, y, sample_weight, offset, bool(fit_intercept))
        s = data.sample_weight
        self._data = data
        self._design = data.design
        self._sn = data.n if s is None else s * data.n
        self._sk = data.k if s is None else s * data.k
        self._offset = data.offset
        self._fit_intercept = bool(fit_intercept)
        self._set_threads(threads)

    # -- shape ---------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Columns of X."""
        return self._design.n_features

    @property
    def n_rows(self) -> int:
        """Rows of X."""
        return self._design.n_rows

    @property
    def fit_intercept(self) -> bool:
        """Whether theta[0] is the intercept."""
        return self._fit_intercept

    @property
    def n_params(self) -> int:
        """Length of theta: n_features, plus one with an intercept."""
        return self.n_features + int(self._fit_intercept)

    def split(self, theta: Any) -> tuple[float, np.ndarray]:
        """(intercept, coef) from theta (the intercept is 0.0 without one); coef is a view."""
        theta = as_params(theta, "theta", self.n_params)
        if self._fit_intercept:
            return float(theta[0]), theta[1:]
        return 0.0, theta

    # -- values and derivatives --------------------------------------------------------
    def value(self, theta: Any) -> float:
        """L(theta): the negative log-likelihood up to a constant, one pass over X."""
        return self.value_and_grad(theta)[0]

    def value_and_grad(self, theta: Any, out: Optional[np.ndarray] = None
                       ) -> tuple[float, np.ndarray]:
        """(L(theta), dL/dtheta) in one pass over X.

        Parameters
        ----------
        theta : array-like of shape (n_params,)
        out : ndarray of shape (n_params,), float64, C-contiguous, optional
            Written with the gradient and returned (a loop then allocates no
            gradient per call).

        Returns
        -------
        value : float
        grad : ndarray of shape (n_params,)
            ``out`` itself when given.
        """
        b, w = self.split(theta)
        g = as_out(out, self.n_params)
        gw = g[1:] if self._fit_intercept else g
        loss, gb = _kernels.binomial_loss_grad(
            *self._design.kernel_args, self._sn, self._sk, self._offset, w, b, gw,
            self._threads, self._design.unit_values,
        )
        if self._fit_intercept:
            g[0] = gb
        # a NaN anywhere in the gradient comes from a NaN score, which makes the loss NaN
        return no_nan(float(loss)), g

    def hessp(self, theta: Any, v: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The Hessian at theta times v, in one pass over X (never forms the Hessian).

        The signature of ``scipy.optimize.minimize``'s ``hessp``.
        """
        b, w = self.split(theta)
        v = as_params(v, "v", self.n_params)
        hv = as_out(out, self.n_params)
        vb, vw = (float(v[0]), v[1:]) if self._fit_intercept else (0.0, v)
        hw = hv[1:] if self._fit_intercept else hv
        hb = _hessian.binomial_hessp(*self._design.kernel_args, self._sn, self._offset, w, b,
                                     np.ascontiguousarray(vw), vb, hw, self._threads)
        if self._fit_intercept:
            hv[0] = hb
        return no_nan(hv)

    def hessian(self, theta: Any) -> np.ndarray:
        """The Hessian at theta, shape (n_params, n_params), intercept first; one pass.

        Raises
        ------
        ValueError
            When the matrix alone would take more than 1 GiB (use ``hessp``).
        """
        b, w = self.split(theta)
        curvature = Curvature(self._design, self._sn, self._offset, self._threads,
                              self._fit_intercept, np.zeros(self.n_features))
        return no_nan(curvature.hessian(b, w, "the Hessian",
                                 "Use hessp(theta, v) for products with it instead."))

    # -- predictions -------------------------------------------------------------------
    def linear_predictor(self, theta: Any, X: Any = None, *, offset: Any = None) -> np.ndarray:
        """z = o + b + X w for the training rows (X=None, with their offset) or new rows.

        Parameters
        ----------
        theta : array-like of shape (n_params,)
        X : {ndarray, csr_matrix} of shape (n_new, n_features), optional
        offset : array-like of shape (n_new,), optional
            Only with a new X (the training rows use the training offset).

        Returns
        -------
        ndarray of shape (n_rows,) or (n_new,)
        """
        b, w = self.split(theta)
        if X is None:
            if offset is not None:
                raise ValueError("offset= goes with a new X; the training rows use the "
                                 "offset given to the objective")
            design, off = self._design, self._offset
        else:
            design = as_design(X, "X", n_features=self.n_features)
            off = as_row_vector(offset, "offset", design.n_rows)
        z = np.empty(design.n_rows, dtype=np.float64)
        _kernels.linear_predictor(*design.kernel_args, w, b, off, z, self._threads)
        return no_nan(z)

    def predict_proba(self, theta: Any, X: Any = None, *, offset: Any = None) -> np.ndarray:
        """sigmoid(z): each row's probability of success (see ``linear_predictor``)."""
        return _special.sigmoid(self.linear_predictor(theta, X, offset=offset))

    def deviance(self, theta: Any) -> float:
        """2 [L(theta) - L(saturated)], summed row by row as R's glm reports it."""
        d = self._data
        s = np.ones(self.n_rows) if d.sample_weight is None else d.sample_weight
        return float(_special.unit_deviances(d.n, d.k, s, self.linear_predictor(theta)).sum())
