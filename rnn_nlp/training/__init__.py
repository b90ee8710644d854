"""Training: the generic loop, optimisers and schedules, checkpoints, metric logs."""
