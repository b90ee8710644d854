"""Downstream tasks: each ties a reader, a head, metrics and output writing, registered by name."""
