"""Writing a model's network as ONNX into its export folder: model.onnx (+ model.int8.onnx) and onnx.json.

Both torch exporters are tried in turn (TorchScript's first: its graph holds the fused ONNX LSTM/GRU/RNN op,
which onnxruntime quantizes; then the dynamo one), and a graph is kept only if onnxruntime's outputs match
the trained network's own (its PyTorch forward over the same padded inputs and lengths, not the ONNX-friendly
rewrite in graphs.py that was exported) within `TOLERANCE` on random batches of several sizes and lengths;
onnx.json records which exporter gave it and the largest difference seen. A run with pretrained vectors is
checked with words outside the vocabulary that the vectors know among the random tokens (its graph's oov_vectors
and oov inputs against the network's own vector_rows). `--int8` quantizes the kept graph with onnxruntime's dynamic
quantization and records which operators it holds: an LSTM becomes DynamicQuantizeLSTM (int8 weights); a GRU
or Elman RNN has no int8 kernel in onnxruntime, so only its MatMul/Gemm layers (embedding projection, scorer,
classifier) are quantized and the recurrence stays float32. A classifier with a bag-of-n-grams path (head.ngrams)
is checked with random n-gram ids (its graph's ngram_ids input against the network's own).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnn_nlp.data.ngrams import ngram_scale, padded_ngram_ids
from rnn_nlp.data.vectors import outside_vectors
from rnn_nlp.errors import ConfigError
from rnn_nlp.files import json_text
from rnn_nlp.inference.pooling import pool_weights
from rnn_nlp.nn.crf import FORBIDDEN
from rnn_nlp.nn.heads.classifier import ClassifierNetwork
from rnn_nlp.nn.heads.tagger import TaggerNetwork
from rnn_nlp.onnx.graphs import VECTOR_INPUTS, ClassifierGraph, TaggerGraph
from rnn_nlp.tasks.model import Model

log = logging.getLogger(__name__)

GRAPH, INT8_GRAPH, MANIFEST = "model.onnx", "model.int8.onnx", "onnx.json"
FORMAT = 1
OPSET = 18
TOLERANCE = 1e-4  # largest |onnxruntime - PyTorch| accepted on any output value (emissions, probabilities)
EXPORTERS = ("torchscript", "dynamo")
CHECK_SHAPES = ((1, 1), (1, 7), (3, 5), (8, 13), (2, 40))  # (batch, length) of the random check batches


def check_shapes(network: torch.nn.Module) -> tuple[tuple[int, int], ...]:
    """CHECK_SHAPES, plus for a classifier that reads long documents in chunks (head.chunk_len) a batch longer
    than a chunk: its network carries the state across chunks where the graph reads the text whole."""
    chunk = getattr(getattr(getattr(network, "head", None), "cfg", None), "chunk_len", None)
    if isinstance(network, ClassifierNetwork) and chunk and chunk >= max(steps for _, steps in CHECK_SHAPES):
        return (*CHECK_SHAPES, (2, chunk + 9))
    return CHECK_SHAPES


def _require() -> Any:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConfigError('export --onnx needs onnx and onnxruntime: pip install "rnn-nlp[onnx]"') from None
    return onnx, onnxruntime


def graph_of(model: Model) -> tuple[torch.nn.Module, list[str], str]:
    """(the ONNX-friendly module, its input names, its output name) of a model that ONNX export supports."""
    network = model.module
    if isinstance(network, TaggerNetwork):
        tagger = TaggerGraph(network).eval()
        return tagger, list(tagger.inputs), "emissions"
    if isinstance(network, ClassifierNetwork):
        classifier = ClassifierGraph(network).eval()
        return classifier, list(classifier.inputs), "probabilities"
    raise ConfigError(f"export --onnx: task '{model.task}' cannot be exported to ONNX yet (tagging and classification runs can)")


def check_exportable(model: Model) -> list[str]:
    """A ConfigError, before any file is written, for a model `write_onnx` cannot take: onnx or onnxruntime
    missing, a task ONNX export does not support, a tagger with string embeddings. Returns the lines the
    export's model card adds to its known limits (what the ONNX predictor needs besides the export)."""
    _require()
    graph_of(model)
    note = vectors_note(model)
    return [] if note is None else [note]


def vectors_note(model: Model) -> str | None:
    """What an ONNX export of a run with pretrained word vectors (backbone.vectors) needs besides itself, or None.

    The graph holds the vocabulary's own vectors; a word outside the vocabulary that the vectors know reads its
    row of the whole table (400k rows for GloVe, kept out of the graph as out of the model), which the predictor
    memory-maps from backbone.vectors as the PyTorch model does: where that table is missing, such words read <unk>.
    """
    source = model.config.backbone.vectors
    if not source:
        return None
    return (
        f"Words outside the vocabulary read their pretrained vectors from {source}, which is not part of this export: "
        "`rnn_nlp.inference` reads them from there as the PyTorch model does, and where it cannot find them (a warning "
        "says so) reads such words as `<unk>`, as a PyTorch model loaded without its vectors does."
    )


def random_inputs(
    names: list[str],
    batch: int,
    steps: int,
    vocab_size: int,
    n_chars: int,
    rng: random.Random,
    table: Any = None,
    unk_id: int = 1,
    n_ngrams: int = 0,
) -> dict[str, torch.Tensor]:
    """Random padded inputs by name: lengths from 1 to `steps` (the longest exactly `steps`), ids 2.. on real
    tokens, 0 on padding. With the vectors inputs (oov_vectors, oov) in `names`, about a fifth of the real tokens
    are words outside the vocabulary that `table` knows (id `unk_id`, a random row of `table`) and a few more plain
    <unk>s (no row); "vector_rows" (not a graph input) gives those rows to the PyTorch network. With "ngram_ids" in
    `names`, each text gets 0 to steps + 2 random n-gram ids below `n_ngrams` (3..: no specials), 0-padded."""
    lengths = [steps] + [rng.randint(1, steps) for _ in range(batch - 1)]
    rng.shuffle(lengths)
    ids = torch.zeros(batch, steps, dtype=torch.long)
    chars = torch.zeros(batch, steps, 6, dtype=torch.long)
    rows = torch.full((batch, steps), -1, dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.tensor([rng.randrange(2, max(3, vocab_size)) for _ in range(n)])
        for t in range(n):
            width = rng.randint(1, 6)
            chars[b, t, :width] = torch.tensor([rng.randrange(1, max(2, n_chars)) for _ in range(width)])
            if table is not None and (draw := rng.random()) < 0.3:
                ids[b, t] = unk_id
                rows[b, t] = rng.randrange(len(table)) if draw < 0.2 else -1
    out = {"ids": ids, "lengths": torch.tensor(lengths, dtype=torch.long), "chars": chars}
    if "ngram_ids" in names:
        grams = [[rng.randrange(3, n_ngrams) for _ in range(rng.randint(0, steps + 2))] if n_ngrams > 3 else [] for _ in range(batch)]
        out["ngram_ids"] = torch.tensor(padded_ngram_ids(grams), dtype=torch.long)
        out["ngram_scale"] = torch.from_numpy(ngram_scale(out["ngram_ids"].numpy()))
    if "pool" in names:
        out["pool"] = torch.from_numpy(pool_weights(np.array(lengths), steps))
    if "oov" in names:
        if table is None:
            raise ValueError("random_inputs: the vectors inputs need a table to read their rows from")
        out.update(vector_feed(ids, rows, table, unk_id))
        out["vector_rows"] = rows
    return {k: v for k, v in out.items() if k in names or k == "vector_rows"}


def vector_feed(ids: torch.Tensor, rows: torch.Tensor, table: Any, unk_id: int) -> dict[str, torch.Tensor]:
    """The graph's oov_vectors and oov for table rows `rows` (-1: none), by the predictor's own `outside_vectors`."""
    vectors, outside = outside_vectors(ids.numpy(), rows.numpy(), unk_id, table, int(table.shape[1]))
    return {"oov_vectors": torch.from_numpy(vectors), "oov": torch.from_numpy(outside)}


def ngram_count(network: torch.nn.Module) -> int:
    """The size of a classifier's n-gram vocabulary (head.ngrams), 0 without that path."""
    ngrams = getattr(getattr(network, "head", None), "ngrams", None)
    return 0 if ngrams is None else int(ngrams.weights.num_embeddings)


def network_vectors(network: torch.nn.Module) -> Any:
    """The network's VectorEmbedding (its backbone's pretrained vectors), or None."""
    return getattr(getattr(network, "backbone", None), "vectors", None)


@contextlib.contextmanager
def check_table(network: torch.nn.Module, seed: int = 0) -> Iterator[Any]:
    """The table the check reads words outside the vocabulary from (None without backbone.vectors): the network's
    own memory-mapped one, or where its source could not be read when the model was loaded, random stand-in rows
    attached for the check alone (the graph's arithmetic is what is checked, not the vectors)."""
    vectors = network_vectors(network)
    if vectors is None or vectors.table is not None:
        yield None if vectors is None else vectors.table
        return
    vectors.table = np.random.default_rng(seed).normal(size=(64, vectors.dim)).astype(np.float32)
    try:
        yield vectors.table
    finally:
        vectors.table = None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The exporters' and the quantizer's advice that does not apply here, kept off the user's screen: the
    TorchScript exporter's warnings about tracing and about LSTM batch sizes (the graph is checked at several
    batch sizes and lengths before it is kept) and the quantizer's hint to pre-process the graph first."""
    advice = ("pre-processing before quantization", "Quantization parameters for tensor")
    root = logging.getLogger()

    def keep(record: logging.LogRecord) -> bool:
        return not any(a in record.getMessage() for a in advice)

    chatty = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]  # INFO for every rewrite pass
    levels = [logger.level for logger in chatty]
    for logger in chatty:
        logger.setLevel(logging.WARNING)
    root.addFilter(keep)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            yield
    finally:
        root.removeFilter(keep)
        for logger, level in zip(chatty, levels):
            logger.setLevel(level)


def export_graph(graph: torch.nn.Module, names: list[str], output: str, example: list[torch.Tensor], path: Path, exporter: str) -> None:
    """`graph` as ONNX at `path` by `exporter` ("torchscript" or "dynamo"), batch and lengths dynamic."""
    axes = {
        "ids": {0: "batch", 1: "steps"},
        "lengths": {0: "batch"},
        "chars": {0: "batch", 1: "steps", 2: "chars"},
        "oov_vectors": {0: "batch", 1: "steps"},
        "oov": {0: "batch", 1: "steps"},
        "ngram_ids": {0: "batch", 1: "ngrams"},
        "pool": {0: "batch", 1: "steps"},
        "ngram_scale": {0: "batch"},
    }
    out_axes = {0: "batch", 1: "steps"} if output == "emissions" else {0: "batch"}
    with torch.no_grad(), quiet():
        if exporter == "torchscript":
            torch.onnx.export(
                graph,
                tuple(example),
                str(path),
                input_names=names,
                output_names=[output],
                dynamic_axes={**{n: axes[n] for n in names}, output: out_axes},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        else:
            dim = torch.export.Dim
            batch, steps, width, grams = dim("batch", min=1), dim("steps", min=1), dim("chars", min=1), dim("ngrams", min=1)
            shapes = {
                "ids": {0: batch, 1: steps},
                "lengths": {0: batch},
                "chars": {0: batch, 1: steps, 2: width},
                "oov_vectors": {0: batch, 1: steps},
                "oov": {0: batch, 1: steps},
                "ngram_ids": {0: batch, 1: grams},
                "pool": {0: batch, 1: steps},
                "ngram_scale": {0: batch},
            }
            program = torch.onnx.export(
                graph,
                tuple(example),
                input_names=names,
                output_names=[output],
                dynamic_shapes={"inputs": tuple(shapes[n] for n in names)},  # the graphs' forward(*inputs)
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
            )
            if program is None:
                raise ConfigError("export --onnx: the dynamo exporter returned no program")
            program.save(str(path), external_data=False)


RECURRENT_OPS = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}  # the input slots of each op's initial states


def read_names(graph: Any) -> set[str]:
    """Every value name a node of `graph` reads, its subgraphs' nodes (If, Loop, Scan bodies) included: a body may
    read a value of the graph around it."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            for body in [attr.g, *attr.graphs] if attr.HasField("g") else attr.graphs:
                names |= read_names(body)
    return names


def drop_zero_initial_states(path: Path) -> int:
    """Rewrite the graph at `path` so that its recurrent ops take no initial state where the exporter built an
    all-zero one (torch's RNNs always have one: a Shape-Gather-Unsqueeze-Concat-ConstantOfShape chain an op each
    per layer), as ONNX reads a missing initial state as zeros: the same outputs, five operators fewer a layer,
    which at batch 1 is time. Returns how many states were dropped (0: the file is left as it was)."""
    onnx, _ = _require()
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    zeros = set()
    for node in graph.node:
        if node.op_type == "ConstantOfShape":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is None or not numpy_helper.to_array(value).any():
                zeros.add(node.output[0])
    dropped = 0
    for node in graph.node:
        for slot in RECURRENT_OPS.get(node.op_type, ()):
            if slot < len(node.input) and node.input[slot] in zeros:
                node.input[slot] = ""
                dropped += 1
    if not dropped:
        return 0
    while True:  # remove what no longer feeds anything (the chains that built the zeros)
        used = read_names(graph) | {o.name for o in graph.output}
        dead = [node for node in graph.node if not any(out in used for out in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    onnx.save(model, str(path))
    return dropped


def network_outputs(network: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """What the trained network itself gives over padded `inputs` (ids, lengths[, chars][, vector_rows]), through
    its own forward (packed sequences, its own pooling, its own table lookup): a tagger's emissions [B, T, K], a
    classifier's probabilities [B, L]. The exported graph is checked against these, never against the rewrite in
    graphs.py it came from, so a mistake in that rewrite is caught."""
    with torch.no_grad():
        if isinstance(network, TaggerNetwork):
            batch = {k: v for k, v in inputs.items() if k in ("ids", "lengths", "chars", "vector_rows")}
            return network.emissions(batch)[0].float().numpy()
        if isinstance(network, ClassifierNetwork):
            logits = network.logits(inputs["ids"], inputs["lengths"], inputs.get("vector_rows"), inputs.get("ngram_ids"))
            return network.probabilities(logits).float().numpy()
    raise ConfigError(f"export --onnx: no reference outputs for a {type(network).__name__}")


def largest_difference(path: Path, network: torch.nn.Module, names: list[str], vocab_size: int, n_chars: int, seed: int = 0) -> float:
    """The largest |onnxruntime - PyTorch| over random batches of every `check_shapes` size (inf on a failed run),
    PyTorch's values being the trained `network`'s own (`network_outputs`); a tagger's padding is not compared.
    With pretrained vectors, both read words outside the vocabulary from the same table (`check_table`)."""
    _, ort = _require()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng, worst = random.Random(seed), 0.0
    shapes = check_shapes(network)
    vectors = network_vectors(network)
    with check_table(network, seed) as table:
        checks = [
            random_inputs(names, batch, steps, vocab_size, n_chars, rng, table, getattr(vectors, "unk_id", 1), ngram_count(network))
            for batch, steps in shapes
        ]
        expected_all = [network_outputs(network, inputs) for inputs in checks]
    for (batch, steps), inputs, expected in zip(shapes, checks, expected_all, strict=True):
        try:
            got = session.run(None, {i.name: inputs[i.name].numpy() for i in session.get_inputs()})[0]
        except Exception as exc:  # onnxruntime's errors have no common base class
            log.info("ONNX check at batch %d, length %d failed: %s", batch, steps, str(exc).splitlines()[0])
            return float("inf")
        if got.shape != expected.shape:
            return float("inf")
        mask = (torch.arange(steps).unsqueeze(0) < inputs["lengths"].unsqueeze(1)).numpy() if got.ndim == 3 else None
        diff = np.abs(got - expected)
        worst = max(worst, float(diff[mask].max() if mask is not None else diff.max()))
    return worst


def operator_counts(path: Path) -> dict[str, int]:
    """How many nodes of each operator type the ONNX graph at `path` holds (subgraphs included)."""
    onnx, _ = _require()
    counts: Counter = Counter()

    def walk(graph: Any) -> None:
        for node in graph.node:
            counts[node.op_type] += 1
            for attr in node.attribute:
                if attr.g is not None and len(attr.g.node):
                    walk(attr.g)

    walk(onnx.load(str(path)).graph)
    return dict(sorted(counts.items()))


def graph_inputs(path: Path) -> list[str]:
    """The inputs the ONNX graph at `path` takes, in order: the module's, less any an exporter dropped because
    the network never reads it (a classifier's lengths without a backward direction)."""
    onnx, _ = _require()
    graph = onnx.load(str(path)).graph
    weights = {w.name for w in graph.initializer}
    return [i.name for i in graph.input if i.name not in weights]


def quantize(source: Path, target: Path) -> dict[str, int]:
    """onnxruntime's dynamic int8 quantization of `source` into `target`; returns the quantized graph's operators."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    return operator_counts(target)


def crf_scores(network: torch.nn.Module) -> dict | None:
    """The CRF's start, transition and end scores with the forbidden moves masked (what Viterbi uses), or None."""
    crf = getattr(getattr(network, "head", None), "crf", None)
    if crf is None:
        return None
    start, trans, end = (t.detach().float().cpu().tolist() for t in crf.scores())
    return {"start": start, "transitions": trans, "end": end, "forbidden": FORBIDDEN}


def write_onnx(model: Model, folder: Path, int8: bool = False, exporters: tuple[str, ...] = EXPORTERS) -> dict:
    """Write model.onnx (and with `int8` model.int8.onnx) and onnx.json into `folder`; returns the manifest."""
    _require()
    graph, names, output = graph_of(model)
    vocab_size = len(model.vocab)
    n_chars = len(model._task.vocab_json().get("chars", [])) or 2
    with check_table(model.module) as table:
        example = random_inputs(names, 2, 5, vocab_size, n_chars, random.Random(1), table, model.vocab.unk_id, ngram_count(model.module))
    path, tried = folder / GRAPH, {}
    for exporter in exporters:
        try:
            export_graph(graph, names, output, [example[n] for n in names], path, exporter)
            drop_zero_initial_states(path)
            tried[exporter] = largest_difference(path, model.module, names, vocab_size, n_chars)
        except Exception as exc:  # an exporter that cannot take the graph: the next one is tried
            log.info("the %s ONNX exporter failed: %s", exporter, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            tried[exporter] = float("inf")
        if tried[exporter] <= TOLERANCE:
            break
    else:
        path.unlink(missing_ok=True)
        raise ConfigError(
            f"export --onnx: no exporter gave a graph within {TOLERANCE} of PyTorch at every batch size and length "
            f"(largest differences: {', '.join(f'{k} {v:.3g}' for k, v in tried.items())})"
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "task": model.task,
        "graph": GRAPH,
        "inputs": graph_inputs(path),
        "output": output,
        "exporter": exporter,
        "opset": OPSET,
        "tolerance": TOLERANCE,
        "largest_difference": tried[exporter],
        "checked_shapes": [list(s) for s in CHECK_SHAPES],
        "rnn": model.config.backbone.rnn,
        "crf": crf_scores(model.module),
        # pretrained vectors: the graph has the vocabulary's rows; the predictor reads other words' rows from the source
        "word_vectors": word_vectors(model),
        "operators": operator_counts(path),
    }
    if int8:
        ops = quantize(path, folder / INT8_GRAPH)
        manifest["int8"] = {"graph": INT8_GRAPH, "operators": ops, "int8_recurrence": ops.get("DynamicQuantizeLSTM", 0) > 0}
        if model.config.backbone.rnn == "lstm" and not ops.get("DynamicQuantizeLSTM"):
            log.warning("export --int8: the quantized graph holds no DynamicQuantizeLSTM; its LSTM stays float32")
        elif model.config.backbone.rnn != "lstm":
            log.info(
                "export --int8: onnxruntime has no int8 %s kernel; only the MatMul/Gemm layers are quantized", model.config.backbone.rnn
            )
    (folder / MANIFEST).write_text(json_text(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def word_vectors(model: Model) -> dict | None:
    """onnx.json's record of backbone.vectors (None without): where the predictor reads the vectors of words outside
    the vocabulary (the source, resolved as `rnn_nlp.data.fetchers.vector_sets.load_vectors` does), their width and
    the graph inputs they go into."""
    vectors = network_vectors(model.module)
    if not model.config.backbone.vectors or vectors is None:
        return None
    return {"source": model.config.backbone.vectors, "dim": vectors.dim, "inputs": list(VECTOR_INPUTS)}


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
