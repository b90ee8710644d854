"""Task heads: each takes the backbone's output and a batch and returns loss and predictions."""
