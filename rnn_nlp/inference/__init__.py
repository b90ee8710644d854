"""The torch-free predictor of an ONNX export (`rnn-nlp export RUN OUT --onnx`): onnxruntime and numpy only.

This package imports neither torch nor any module of rnn_nlp that does (an import-linter contract and
tests/shipping/test_inference.py, which runs it where `import torch` fails, keep it so).
"""

from rnn_nlp.inference.predictor import OnnxClassifier, OnnxModel, OnnxTagger, load

__all__ = ["OnnxClassifier", "OnnxModel", "OnnxTagger", "load"]
