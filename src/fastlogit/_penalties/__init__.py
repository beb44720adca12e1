"""Layer 3, penalties: ridge, elastic net, bounds, penalty factors and their optimality checks.

Imports ``backend`` and below; knows nothing of solvers or results.
"""
