"""``MultinomialObjective``: the softmax negative log-likelihood for other libraries to optimise.

    L(theta) = sum_i s_i [N_i logsumexp_k(z_ik) - sum_k c_ik z_ik],
    z_ik = o_ik + b_k + x_i . W[:, k],   N_i = sum_k c_ik
    theta = [b_1..b_K, W.ravel()]  with W of shape (n_features, K), C order
            (W alone when fit_intercept=False)

All K classes carry parameters (the symmetric parametrisation): L is unchanged when
every class is shifted alike, so its Hessian is singular along that direction.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from scipy.special import xlogy

from fastlogit._core import _softmax
from fastlogit._input._training import multinomial_training_data
from fastlogit._input._validate import as_design
from fastlogit._input._validate_multi import as_real_matrix
from fastlogit.backend._curvature import check_hessian_size
from fastlogit.backend._params import ThreadsMixin, as_out, as_params, no_nan
from fastlogit.backend._softmax_objective import softmax_hessian, softmax_scores


class MultinomialObjective(ThreadsMixin):
    """The multinomial (softmax) negative log-likelihood and its derivatives.

    Each of ``value``, ``value_and_grad``, ``hessp`` and the predictions is one
    compiled pass over X (OpenMP threads, the GIL released); the full Hessian
    takes K (K + 1) / 2 passes, one per block of classes. X is never copied or
    modified, the object holds only read-only views, may be used from several
    threads at once, and keeps no global state.

    Parameters
    ----------
    X : {ndarray, csr_matrix, csr_array} of shape (n_rows, n_features)
        Dense (C or Fortran order) or CSR (int32 or int64 indices), float32 or float64.
    Y : array-like of shape (n_rows,) or (n_rows, n_classes)
        One class label per row (the classes are the sorted distinct labels, see
        ``classes``), or a matrix of non-negative counts per class.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative row weights s_i (they multiply the row's counts).
    offset : array-like of shape (n_rows, n_classes), optional
        Fixed part o_ik of each score.
    fit_intercept : bool, default True
        Whether theta starts with the K intercepts; otherwise they are 0.
    threads : int, optional
        Kernel threads (default: threadpoolctl's limit, OMP_NUM_THREADS, or the cores).

    Raises
    ------
    ValueError, TypeError
        The same checks and messages as ``fastlogit.fit_multinomial``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit.backend import MultinomialObjective
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> obj = MultinomialObjective(X, ["a", "a", "b", "b", "c", "c"])
    >>> obj.classes, obj.n_params
    (array(['a', 'b', 'c'], dtype='<U1'), 6)
    >>> f, g = obj.value_and_grad(np.zeros(obj.n_params))
    >>> bool(np.isclose(f, 6 * np.log(3)))
    True
    >>> intercept, coef = obj.split(np.arange(6.0))
    >>> intercept, coef.shape
    (array([0., 1., 2.]), (3, 1))
    """

    def __init__(self, X: Any, Y: Any, *, sample_weight: Any = None, offset: Any = None,
                 fit_intercept: bool = True, threads: Optional[int] = None) -> None:
        if Y is None:
            raise TypeError("Y must be class labels (n_rows,) or counts (n_rows, n_classes)")
        counts, labels = (Y, None) if np.ndim(Y) == 2 else (None, Y)
        data, targets = multinomial_training_data(X, labels, counts, sample_weight, offset,
                                                  bool(fit_intercept))
        self._data = data
        self._K = targets.n_classes
        self._classes = targets.classes
        self._row_totals = data.row_totals()
        self._fit_intercept = bool(fit_intercept)
        self._set_threads(threads)
        if data.counts is not None:
            c = data.counts if data.sample_weight is None else \
                data.counts * data.sample_weight[:, None]
            self._saturated = float(np.sum(xlogy(c, c)) - np.sum(xlogy(self._row_totals,
                                                                      self._row_totals)))
        else:
            self._saturated = 0.0  # one label per row: the saturated model predicts it surely

    # -- shape ---------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """K, the number of classes."""
        return self._K

    @property
    def classes(self) -> Optional[np.ndarray]:
        """The sorted class labels when Y held labels; None for counts (classes = columns)."""
        return self._classes

    @property
    def n_features(self) -> int:
        """Columns of X."""
        return self._data.design.n_features

    @property
    def n_rows(self) -> int:
        """Rows of X."""
        return self._data.design.n_rows

    @property
    def fit_intercept(self) -> bool:
        """Whether theta starts with the K intercepts."""
        return self._fit_intercept

    @property
    def n_params(self) -> int:
        """Length of theta: (n_features + 1) * K with intercepts, n_features * K without."""
        return (self.n_features + int(self._fit_intercept)) * self._K

    def split(self, theta: Any) -> tuple[np.ndarray, np.ndarray]:
        """(intercept of shape (K,), coef of shape (K, n_features)): views into theta."""
        b, W = self._split(as_params(theta, "theta", self.n_params))
        return b, W.T

    def join(self, intercept: Any, coef: Any) -> np.ndarray:
        """theta from intercepts (K,) and coefficients (K, n_features): ``split``'s inverse."""
        K, p = self._K, self.n_features
        W = np.asarray(coef, dtype=np.float64)
        if W.shape != (K, p):
            raise ValueError(f"coef must have shape ({K}, {p}); got {W.shape}")
        parts = [W.T.reshape(-1)]
        if self._fit_intercept:
            b = np.asarray(intercept, dtype=np.float64).reshape(-1)
            if b.shape != (K,):
                raise ValueError(f"intercept must have shape ({K},); got {b.shape}")
            parts.insert(0, b)
        return np.concatenate(parts)

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(b (K,), W (p, K) feature-major) as views of a validated theta."""
        K = self._K
        if self._fit_intercept:
            return theta[:K], theta[K:].reshape(self.n_features, K)
        return np.zeros(K), theta.reshape(self.n_features, K)

    # -- values and derivatives --------------------------------------------------------
    def value(self, theta: Any) -> float:
        """L(theta), one pass over X."""
        return self.value_and_grad(theta)[0]

    def value_and_grad(self, theta: Any, out: Optional[np.ndarray] = None
                       ) -> tuple[float, np.ndarray]:
        """(L(theta), dL/dtheta) in one pass over X; the gradient is written into ``out``
        (shape (n_params,), float64, C-contiguous) when given, and returned."""
        b, W = self._split(as_params(theta, "theta", self.n_params))
        g = as_out(out, self.n_params)
        K = self._K
        gb = g[:K] if self._fit_intercept else np.empty(K)
        gW = g[K:] if self._fit_intercept else g
        d = self._data
        loss = _softmax.softmax_loss_grad(
            *d.design.kernel_args, K, None if d.counts is None else d.counts.reshape(-1),
            d.labels, d.sample_weight, None if d.offset is None else d.offset.reshape(-1),
            W.reshape(-1), b, gW, gb, self._threads)
        # a NaN anywhere in the gradient comes from a NaN score, which makes the loss NaN
        return no_nan(float(loss)), g

    def hessp(self, theta: Any, v: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The Hessian at theta times v, in one pass over X (never forms the Hessian)."""
        b, W = self._split(as_params(theta, "theta", self.n_params))
        vb, V = self._split(as_params(v, "v", self.n_params))
        hv = as_out(out, self.n_params)
        K = self._K
        hb = hv[:K] if self._fit_intercept else np.empty(K)
        hW = hv[K:] if self._fit_intercept else hv
        if not self._fit_intercept:
            vb = np.zeros(K)
        d = self._data
        _softmax.softmax_hessp(
            *d.design.kernel_args, K, self._row_totals,
            None if d.offset is None else d.offset.reshape(-1), W.reshape(-1), b,
            np.ascontiguousarray(V).reshape(-1), np.ascontiguousarray(vb), hW, hb,
            self._threads)
        return no_nan(hv)

    def hessian(self, theta: Any) -> np.ndarray:
        """The Hessian at theta, shape (n_params, n_params), in theta's order.

        Singular along "every class shifted alike" (see the module docstring).

        Raises
        ------
        ValueError
            When the matrix alone would take more than 1 GiB (use ``hessp``).
        """
        b, W = self._split(as_params(theta, "theta", self.n_params))
        K, p = self._K, self.n_features
        check_hessian_size(self.n_params, "the multinomial Hessian",
                           "Use hessp(theta, v) for products with it instead.")
        d = self._data
        H = softmax_hessian(d.design, b, W, d.offset, self._row_totals, self._threads)
        # class-blocked order a * (p + 1) + j (j = 0: intercept) -> theta's order
        P = p + 1
        feature = (np.arange(p)[:, None] * K + np.arange(K)[None, :]).reshape(-1)
        src = (np.arange(K)[None, :] * P + 1 + np.arange(p)[:, None]).reshape(-1)
        order = np.empty(self.n_params, dtype=np.intp)
        if self._fit_intercept:
            order[:K] = np.arange(K) * P
            order[K + feature] = src
        else:
            order[feature] = src
        return no_nan(H[np.ix_(order, order)])

    # -- predictions -------------------------------------------------------------------
    def _scores(self, theta: Any, X: Any, offset: Any, transform: int) -> np.ndarray:
        b, W = self._split(as_params(theta, "theta", self.n_params))
        if X is None:
            if offset is not None:
                raise ValueError("offset= goes with a new X; the training rows use the "
                                 "offset given to the objective")
            design, off = self._data.design, self._data.offset
        else:
            design = as_design(X, "X", n_features=self.n_features)
            off = None if offset is None else as_real_matrix(offset, "offset",
                                                              (design.n_rows, self._K))
        return no_nan(softmax_scores(design, b, W, off, transform, self._threads))

    def linear_predictor(self, theta: Any, X: Any = None, *, offset: Any = None) -> np.ndarray:
        """Scores z (n_rows, K) for the training rows (X=None) or new rows."""
        return self._scores(theta, X, offset, 0)

    def predict_proba(self, theta: Any, X: Any = None, *, offset: Any = None) -> np.ndarray:
        """softmax(z) (n_rows, K): each row's class probabilities (see ``linear_predictor``)."""
        return self._scores(theta, X, offset, 1)

    def deviance(self, theta: Any) -> float:
        """2 [L(theta) - L(saturated)], the multinomial deviance."""
        return 2.0 * (self.value(theta) + self._saturated)
