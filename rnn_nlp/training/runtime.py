"""Process-wide runtime: the device, the state a resumed run must restore (RNG streams), and Ctrl-C / SIGTERM handling."""

from __future__ import annotations

import logging
import random
import signal

import numpy as np
import torch

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """The device `trainer.device` names ("auto": CUDA where there is one); ConfigError for CUDA without one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from rnn_nlp.errors import ConfigError

        raise ConfigError("trainer.device: cuda was asked for but no CUDA device is available")
    try:
        return torch.device(name)
    except (RuntimeError, TypeError):  # torch's own words start deep in its parser
        from rnn_nlp.errors import ConfigError, abbreviate

        raise ConfigError(f"device {abbreviate(name)}: not a device torch knows (auto, cpu, cuda, cuda:1, mps)") from None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {
        "python": list(random.getstate()[1]),
        "python_pos": random.getstate()[2],
        "numpy": np.random.get_state()[1].tolist(),
        "numpy_pos": int(np.random.get_state()[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), state["numpy_pos"], 0, 0.0))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class StopFlag:
    """Turns the first Ctrl-C / SIGTERM into a flag checked between steps; a second one aborts."""

    def __init__(self):
        self.raised = False
        self._previous: dict = {}

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        log.warning("stopping after this step and saving a checkpoint (press Ctrl-C again to abort)")

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
