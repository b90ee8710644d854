"""Neural modules: the shared backbone, regularizers, pooling and task heads."""
