"""scikit-learn estimators on fastlogit's kernels: ``LogisticRegression`` and ``BinomialRegressor``.

scikit-learn is an optional dependency (``pip install fastlogit[sklearn]``);
``import fastlogit`` works without it and these classes are loaded on first use.

Both estimators follow scikit-learn's conventions (parameters stored
unvalidated in ``__init__``, learned attributes with a trailing underscore,
``sample_weight`` in ``fit``, pandas column names kept in
``feature_names_in_``) and pass ``sklearn.utils.estimator_checks``; they work
in ``Pipeline``, ``GridSearchCV``, ``clone`` and pickling.

Stopping rule: ``tol`` is L-BFGS-B's ``pgtol``, the largest entry of the
gradient of the mean penalised loss (F / sum of weights) in the
standardised coordinates the solver works in -- the same quantity, up to
that change of coordinates, as scikit-learn's lbfgs ``gtol=tol``; as there,
the relative-decrease test is ``ftol = 64 * machine epsilon`` (``factr=64``).
The default ``tol=1e-4`` matches scikit-learn's; use 1e-8 for coefficients
accurate to about 1e-6.
"""

from fastlogit.sklearn._estimators import BinomialRegressor, LogisticRegression

__all__ = ["BinomialRegressor", "LogisticRegression"]
