"""The Markdown of benchmarks/gpu.py's results: one section per step, failures with their errors."""

from __future__ import annotations

from typing import Any


def num(value: Any, fmt: str = "{:,.0f}") -> str:
    return "" if value is None else fmt.format(value)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def cuda_tests(result: dict) -> list[str]:
    if "tests" not in result:  # pytest wrote no report
        return [f"`{result['command']}` exited with {result['rc']}"]
    line = (
        f"{result['passed']} passed, {result['failed']} failed, {result['errors']} errors, "
        f"{result['skipped']} skipped of {result['tests']} (`{result['command']}`, {result['seconds']:.0f} s)"
    )
    return [line] + [f"- failed: `{name}`" for name in result.get("failures", [])]


def lm_speed(result: dict) -> list[str]:
    rows = [
        [
            r["model"],
            r["impl"],
            r["recipe"],
            r["precision"],
            f"{r['batch']} x {r['bptt']}",
            num(r.get("params"), "{:,}"),
            num(r["tokens_per_s"]),
            num(r["x_plain"], "{:.2f}"),
            num(r["train_s"], "{:.1f}"),
            num(r["peak_gpu_mb"]),
        ]
        for r in result["rows"]
    ]
    header = ["model", "impl", "recipe", "precision", "batch x BPTT", "params", "train tokens/s", "x plain", "train s", "peak GPU MiB"]
    note = (
        f"Each run trains {result['budget_s']:g} s in one process after CUDA started; the clock starts at the run's first "
        "step and leaves out evaluation and checkpoints; the library's figure is its trainer's own (metrics.csv)."
    )
    return table(header, rows) + ["", note]


def throughput(result: dict) -> list[str]:
    rows = [
        [
            r["task"],
            r["data"],
            num(r["sentences"], "{:,}"),
            str(r["batch"]),
            num(r["sentences_per_s"]),
            num(r["words_per_s"]),
            num(r["peak_gpu_mb"]),
            f"{r['metric']} {r['value']:.4f}",
            f"{r['same_as_batch_256']:.4f}",
        ]
        for r in result["rows"]
    ]
    header = ["task", "data", "test sentences", "batch", "sentences/s", "words/s", "peak GPU MiB", "quality", "same as batch 256"]
    lines = table(header, rows) + [""]
    for name, t in result["training"].items():
        lines.append(
            f"- {name}: `{t['config']}`, {t['params']:,} parameters, trained {t['train_s']:.1f} s "
            f"({t['epochs']:.2f} epochs, peak GPU {num(t['peak_gpu_mb']) or 'n/a'} MiB)"
        )
    return lines


def awd(result: dict) -> list[str]:
    header = ["config", "budget s", "params", "epochs", "train tokens/s", "valid ppl", "test ppl", "peak GPU MiB"]
    row = [
        f"`{result['config']}`",
        num(result["budget_s"], "{:g}"),
        num(result["params"], "{:,}"),
        num(result["epochs"], "{:.2f}"),
        num(result["tokens_per_s"]),
        num(result["valid_ppl"], "{:.2f}"),
        num(result["test_ppl"], "{:.2f}"),
        num(result["peak_gpu_mb"]),
    ]
    lines = table(header, [row])
    requested = result.get("requested_budget_s")
    if requested and requested != result["budget_s"]:
        lines.append(f"\nThe budget was cut from {requested:g} s so the whole check ends within its deadline.")
    return lines + ["", result["published"] + "."]


SECTIONS = {
    "cuda_tests": ("CUDA tests (`pytest -m cuda`)", cuda_tests),
    "lm_speed": ("LM training speed, library against the plain loop", lm_speed),
    "throughput": ("Tagging and classification throughput", throughput),
    "awd": ("AWD-LSTM recipe for a fixed budget", awd),
}


def render(record: dict, rerun: str | None) -> str:
    meta = record["meta"]
    title = "GPU check" + (" (SMOKE RUN on the CPU: the figures measure nothing)" if record["smoke"] else "")
    lines = [
        f"# {title}",
        "",
        f"{meta['device'] or 'no device reported'}; torch {meta['torch']} (CUDA {meta['cuda']}); {meta['cpus']} CPUs; "
        f"{meta['started']}, {num(record.get('wall_s'))} s in all; `{meta['command']}`",
    ]
    for name, step in record["steps"].items():
        heading, render_step = SECTIONS[name]
        lines += ["", f"## {heading} [{step['status']}{', smoke' if step.get('smoke') else ''}]", ""]
        if step.get("result"):
            try:
                lines += render_step(step["result"])
            except (KeyError, TypeError, ValueError) as exc:  # a partial result must not cost the others
                lines.append(f"(figures incomplete, see the JSON: {exc!r})")
        if step.get("error"):
            lines += ["", "Error:", "", "```", step["error"].strip()[-2000:], "```"]
    if rerun:
        lines += ["", f"Rerun the failed steps only: `{rerun}`"]
    return "\n".join(lines) + "\n"
