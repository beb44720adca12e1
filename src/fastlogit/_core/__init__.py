"""Layer 0, the compiled core: kernels over validated arrays, nothing of the package above.

The row-loop building blocks (``_rows.pxd``, ``_rows_multi.pxd``), the stable
per-row functions (``_kernels.pxd``), the fused loss/gradient, Hessian,
softmax, streaming and row-grouping kernels, the thread-count rule and the
numpy-facing elementwise functions. Modules here import only each other.
"""
