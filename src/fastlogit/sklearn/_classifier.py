"""``fastlogit.LogisticRegression``: scikit-learn's LogisticRegression on fastlogit's kernels.

The constructor is scikit-learn's (the installed release's parameters, defaults and
penalty precedence: see _params.py) plus fastlogit's ``lam`` and ``aggregate``;
the fits are in _engine.py, partial_fit in _stream.py.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastlogit._core import _special
from fastlogit._input._validate import as_design
from fastlogit.backend._objective import linear_predictor
from fastlogit.backend._softmax_objective import softmax_scores
from fastlogit.sklearn._common import (
    _class_weights,
    _require_y,
    _SparseInput,
    _threads,
    _validate_data,
)
from fastlogit.sklearn._engine import (
    _FACTR,
    Fitted,
    fit_binary,
    fit_multiclass,
    starting_model,
    warn_max_iter_zero,
)
from fastlogit.sklearn._params import (
    check_solver_options,
    constraints,
    resolve_penalty,
    validate_params,
)


class _LinearClassifier(_SparseInput, ClassifierMixin, BaseEstimator):
    """Predictions of a fitted linear classifier (coef_, intercept_, classes_) through the
    kernels, in the dtype of X and coef_; sparsify()/densify() of coef_."""

    def _set_fitted(self, classes: np.ndarray, fitted: Fitted, dtype: Any) -> None:
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(fitted.coef, dtype=dtype)
        self.intercept_ = np.asarray(fitted.intercept, dtype=dtype)
        self.n_iter_ = np.array([fitted.n_iter], dtype=np.int32)

    def _dense_coef(self) -> np.ndarray:
        coef = self.coef_
        return coef.toarray() if sp.issparse(coef) else np.asarray(coef)

    def _checked_input(self, X: Any) -> Any:
        return _validate_data(self, X, reset=False)

    def _scores(self, X: Any, transform: int) -> tuple[np.ndarray, Any]:
        check_is_fitted(self)
        X = self._checked_input(X)
        coef = self._dense_coef()
        dtype = np.result_type(X.dtype, coef.dtype, np.asarray(self.intercept_).dtype)
        design = as_design(X, "X")
        threads = _threads(self.n_jobs)
        if coef.shape[0] == 1:
            return linear_predictor(design, float(np.asarray(self.intercept_).reshape(-1)[0]),
                                    coef[0], None, threads), dtype
        return softmax_scores(design, np.asarray(self.intercept_, dtype=np.float64),
                              np.ascontiguousarray(coef.T, dtype=np.float64), None, transform,
                              threads), dtype

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: shape (n_samples,) for two classes, (n_samples, n_classes) otherwise.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            float32 when both X and ``coef_`` are float32.

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        >>> clf.decision_function([[1.5]]).round(6)
        array([0.])
        """
        z, dtype = self._scores(X, 0)
        return z.astype(dtype, copy=False)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log class probabilities, shape (n_samples, n_classes), finite for finite scores.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        >>> clf.predict_log_proba([[1.5]]).round(3)
        array([[-0.693, -0.693]])
        """
        z, dtype = self._scores(X, 2)
        if z.ndim == 1:
            z = np.column_stack([_special.log_sigmoid(-z), _special.log_sigmoid(z)])
        return z.astype(dtype, copy=False)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        >>> clf.predict_proba([[1.5]]).round(3)
        array([[0.5, 0.5]])
        """
        z, dtype = self._scores(X, 1)
        if z.ndim == 1:
            z = np.column_stack([_special.sigmoid(-z), _special.sigmoid(z)])
        return z.astype(dtype, copy=False)

    def _predict_proba_lr(self, X: Any) -> np.ndarray:
        """One-vs-rest probabilities (each class's sigmoid, normalised), as scikit-learn's
        LinearClassifierMixin offers them; predict_proba is the model's own."""
        z, dtype = self._scores(X, 0)
        if z.ndim == 1:
            return np.column_stack([_special.sigmoid(-z), _special.sigmoid(z)]).astype(dtype)
        prob = _special.sigmoid(z)
        return (prob / prob.sum(axis=1, keepdims=True)).astype(dtype, copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        >>> clf.predict([[0.2], [2.8]])
        array([0, 1])
        """
        scores, _ = self._scores(X, 0)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def sparsify(self) -> Any:
        """Store ``coef_`` as a CSR matrix (worth it when most coefficients are 0, e.g.
        after an L1 fit); predictions are unchanged.

        Returns
        -------
        self

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1], [2], [3]], [0, 0, 1, 1]).sparsify()
        >>> type(clf.coef_).__name__
        'csr_matrix'
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self) -> Any:
        """Store ``coef_`` as a dense array again (the default layout).

        Returns
        -------
        self

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> clf = LogisticRegression().fit([[0.0], [1], [2], [3]], [0, 0, 1, 1])
        >>> type(clf.sparsify().densify().coef_).__name__
        'ndarray'
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self


class LogisticRegression(_LinearClassifier):
    """Regularised logistic regression for binary and multiclass labels: scikit-learn's
    LogisticRegression, parameter for parameter.

    Binary labels fit the binomial model (``coef_`` of shape (1, n_features)); three or
    more classes fit the multinomial (softmax) model in the symmetric parametrisation, as
    scikit-learn does. Minimises

        sum_i s_i loss_i + 1/C [(1 - l1_ratio)/2 ||w||^2 + l1_ratio ||w||_1]

    with the intercepts never penalised (s_i = sample_weight times class weight).

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet", None}, default "deprecated"
        Deprecated by scikit-learn 1.8 in favour of ``l1_ratio`` and ``C``; when given it
        wins, as in scikit-learn: "l2" fits a ridge whatever ``l1_ratio`` is, "l1" a
        lasso, "elasticnet" takes ``l1_ratio``, None fits without a penalty and ignores
        ``C`` (each with scikit-learn's FutureWarning and its warnings about
        inconsistent pairs).
    C : float, default 1.0
        Inverse of the penalty on the summed (weighted) loss; ``np.inf``: no penalty.
    l1_ratio : float in [0, 1], default 0.0
        The L1 share of the penalty: 0 ridge, 1 lasso, in between the elastic net (exact
        zeros in ``coef_``); any number of classes. None is deprecated and means 0.
    dual : bool, default False
        True (liblinear's dual formulation) raises a ValueError: fastlogit solves the
        primal problem, which has the same answer.
    tol : float, default 1e-4
        Stop when the largest entry of the gradient of the mean penalised loss (in the
        standardised coordinates the solver works in) is below tol -- scikit-learn's
        lbfgs ``gtol``; 1e-8 gives coefficients accurate to about 1e-6.
    fit_intercept : bool, default True
    intercept_scaling : float, default 1
        Accepted and has no effect: liblinear's device for a less penalised intercept.
        fastlogit never penalises the intercept.
    class_weight : dict or "balanced", optional
        Multiplies the sample weights of each class (scikit-learn's rule). A class of
        zero total weight is fitted with coefficients 0 and intercept -inf, and never
        predicted.
    random_state : int, RandomState or None, default None
        Accepted and has no effect: every fastlogit fit is deterministic.
    solver : {"lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga"}, \
default "lbfgs"
        Accepted for compatibility; every name runs fastlogit's engine: L-BFGS-B in
        standardised coordinates (split variables with exact zeros for an L1 part),
        finished by Newton steps where the Hessian is cheap. The name never changes
        the answer, and none restricts the penalty or the number of classes.
    max_iter : int, default 100
        Iterations of the solver; 0 returns the starting model (zeros, or the previous
        fit with ``warm_start``), with a ConvergenceWarning.
    verbose : int, default 0
        > 0 prints one line per iteration.
    warm_start : bool, default False
        Start from the previous fit's coefficients when the classes and features agree.
    n_jobs : int, optional
        Kernel threads (unlike scikit-learn >= 1.8, where it has no effect): None follows
        OMP_NUM_THREADS, -1 all cores.
    lam : float, optional
        fastlogit's own: the penalty directly, lam = 1 / C; give C or lam, not both.
    aggregate : bool, default False
        fastlogit's own: collapse duplicate rows of X first (``fastlogit.aggregate``) and
        fit the distinct rows with pooled counts: the same model, faster when rows repeat.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray or csr_matrix of shape (1, n_features) or (n_classes, n_features)
        float32 when X is float32, else float64; a CSR matrix after ``sparsify()``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X has string column names (a pandas DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = LogisticRegression(C=10.0).fit(X, ["no", "no", "yes", "yes"])
    >>> clf.predict([[0.5], [2.5]])
    array(['no', 'yes'], dtype='<U3')
    >>> clf.predict_proba([[1.5]]).round(3)
    array([[0.5, 0.5]])
    """

    _parameter_constraints: dict = constraints()

    def __init__(self, penalty: Any = "deprecated", *, C: float = 1.0,
                 l1_ratio: Optional[float] = 0.0, dual: bool = False, tol: float = 1e-4,
                 fit_intercept: bool = True, intercept_scaling: float = 1,
                 class_weight: Any = None, random_state: Any = None, solver: str = "lbfgs",
                 max_iter: int = 100, verbose: int = 0, warm_start: bool = False,
                 n_jobs: Optional[int] = None, lam: Optional[float] = None,
                 aggregate: bool = False) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.lam = lam
        self.aggregate = aggregate

    def _core_options(self) -> dict:
        return dict(fit_intercept=bool(self.fit_intercept), factr=_FACTR, pgtol=self.tol,
                    max_iter=int(self.max_iter), threads=_threads(self.n_jobs),
                    verbose=bool(self.verbose))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
            float32 input gives float32 ``coef_`` and outputs (sums in float64).
        y : array_like of shape (n_samples,)
            Class labels (two for the binomial model, more for the multinomial).
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A single class, invalid parameters (named), ``dual=True``, malformed input.

        Examples
        --------
        >>> from fastlogit import LogisticRegression
        >>> LogisticRegression(l1_ratio=1.0, C=0.5).fit([[0.0], [1], [2], [3]], [0, 0, 1, 1]
        ...                                              ).coef_.shape
        (1, 1)
        """
        validate_params(self)
        check_solver_options(self)
        pen = resolve_penalty(self.penalty, self.C, self.l1_ratio, self.lam)
        _require_y(self, y)
        X, y = _validate_data(self, X, y)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        y_enc = y_enc.reshape(-1)
        if classes.shape[0] < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {classes[0]!r}")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            sw = sw * _class_weights(self.class_weight, classes, y, sw)[y_enc]
        K, p = classes.shape[0], X.shape[1]
        x0 = self._warm_start_point(classes, p)
        if self.max_iter == 0:
            fitted = starting_model(K, p, bool(self.fit_intercept), x0)
            warn_max_iter_zero()
        elif K == 2:
            fitted = fit_binary(X, y_enc.astype(np.float64), sw, pen.lam, pen.l1_ratio,
                                self._core_options(), None if x0 is None else x0[0],
                                bool(self.aggregate))
        else:
            fitted = fit_multiclass(X, y_enc, sw, K, pen.lam, pen.l1_ratio,
                                    self._core_options(), x0, bool(self.aggregate), classes)
        self._set_fitted(classes, fitted, X.dtype)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> LogisticRegression:
        """Update the model with one more batch of a stream (any number of classes).

        One pass of mini-batch stochastic steps over the rows, continuing the optimiser
        state of the previous call (two classes: ``fastlogit.partial_fit``; more: the
        softmax steps of _solvers/_softmax_sgd.py). The penalty 1/C is on the summed loss of
        all rows streamed so far. A ``fit`` ends the stream.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (n_classes,), optional
            All labels of the stream: required on the first call (unless a ``fit``
            set ``classes_``), and if given later, the same.
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            No classes on the first call, changed classes, labels outside classes,
            an L1 part, class_weight="balanced", malformed input.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogit import LogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(2000, 2))
        >>> y = (X[:, 0] + 0.3 * rng.normal(size=2000) > 0).astype(int)
        >>> clf = LogisticRegression()
        >>> for rows in np.array_split(np.arange(2000), 10):
        ...     clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> clf.predict([[-1.0, 0.0], [1.0, 0.0]])
        array([0, 1])
        """
        from fastlogit.sklearn._stream import classifier_partial_fit

        return classifier_partial_fit(self, X, y, classes, sample_weight, _threads(self.n_jobs))

    def _warm_start_point(self, classes: np.ndarray, p: int) -> Optional[np.ndarray]:
        """The previous fit as per-class [intercept, coef...] rows, or None."""
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        previous = getattr(self, "classes_", None)
        coef = self._dense_coef()
        if previous is None or not np.array_equal(previous, classes) or coef.shape[1] != p:
            return None
        coef = np.asarray(coef, dtype=np.float64)
        if self.fit_intercept:
            return np.column_stack([np.asarray(self.intercept_, dtype=np.float64), coef])
        return coef


class FoldModel(LogisticRegression):
    """A cross-validation fold's fit at one C, as scikit-learn's scorers see it (they call
    predict / predict_proba / decision_function on the held-out rows). The held-out rows
    were validated once with the whole X, so they are not checked again for every C."""

    def _checked_input(self, X: Any) -> Any:
        return X
