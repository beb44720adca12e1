"""Layer 6, model selection: warm-started regularisation paths and cross-validation.

Imports ``_models`` and below.
"""
