"""Layer 1, input: user input to the kernels' arrays, or an exception that says what to fix.

Designs (dense in either order, CSR, memory-mapped; never copied), binomial
targets, labels and count matrices, sample weights and offsets, and the
aggregation of duplicate rows. Imports only ``_core``.
"""
