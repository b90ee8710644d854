"""ONNX export of a model's network (`rnn-nlp export RUN OUT --onnx [--int8]`): padded inputs with a lengths
input, checked against PyTorch before it is kept; the torch-free predictor that reads it is `rnn_nlp.inference`."""

from rnn_nlp.onnx.export import GRAPH, INT8_GRAPH, MANIFEST, TOLERANCE, check_exportable, write_onnx

__all__ = ["GRAPH", "INT8_GRAPH", "MANIFEST", "TOLERANCE", "check_exportable", "write_onnx"]
