"""Layer 5, models: validation -> objective -> solver -> result.

``fit``, ``fit_multinomial`` and ``partial_fit``, their results and the
inference computed from them (Wald, summaries). Imports ``_solvers`` and below.
"""
