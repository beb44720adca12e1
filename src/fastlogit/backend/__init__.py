"""Layer 2, the backend: objectives other libraries can build on (see the public names below)."""
