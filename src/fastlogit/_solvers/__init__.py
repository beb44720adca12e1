"""Layer 4, solvers: each takes an objective (and a penalty) and returns a ``SolverOutcome``.

L-BFGS-B (scipy), Newton, Newton-CG, gradient descent, SGD, the bound-split
route for L1 and the Newton polish. ``_base`` holds what they share;
``_registry`` names them and is the only module that imports them all.
Imports ``_penalties`` and below; never a result or an adapter.
"""
