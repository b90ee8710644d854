"""The Hugging Face hub, through `huggingface_hub` (the `hub` extra): `hf://owner/name[@revision]` names a
model repo's snapshot, and `push_folder` uploads a saved model's folder (its card as the repo's README.md).

Pulling goes through the hub's own cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub):
a snapshot fetched once is read from there again, and with HF_HUB_OFFLINE=1 only the cache is looked at;
nothing cached then is an error at once, naming the variable and the cache folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from rnn_nlp.errors import CheckpointError, ConfigError

PREFIX = "hf://"
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
TRUE = ("1", "true", "yes", "on")


def is_hub_name(name: object) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def parse_hub_name(name: str) -> tuple[str, str | None]:
    """("owner/name", revision or None) of `hf://owner/name[@revision]`; a CheckpointError for another shape."""
    rest = name[len(PREFIX) :]
    repo, _, revision = rest.partition("@")
    if not REPO_ID.match(repo) or "--" in repo or ".." in repo or (revision == "" and "@" in rest):
        raise CheckpointError(f"{name}: a hub model is named hf://OWNER/NAME or hf://OWNER/NAME@REVISION (a branch, tag or commit)")
    return repo, revision or None


def check_repo_id(repo_id: str) -> str:
    """`repo_id` when it is OWNER/NAME, else a ConfigError saying so."""
    if not isinstance(repo_id, str) or not REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise ConfigError(f"push: {repo_id!r} is not a hub repo id; give OWNER/NAME (letters, digits, . _ -)")
    return repo_id


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError('the Hugging Face hub needs huggingface_hub: pip install "rnn-nlp[hub]"') from None
    return huggingface_hub


def is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` says the hub could not be reached: the HTTP client's transport errors, or a socket's."""
    module = type(exc).__module__.split(".")[0]
    return module in ("httpx", "httpx2", "httpcore", "requests", "urllib3") or isinstance(exc, (ConnectionError, TimeoutError))


def cache_dir() -> Path:
    """The hub cache folder, read from the environment at each call (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").strip().lower() in TRUE


def hub_snapshot(name: str, local_files_only: bool = False) -> Path:
    """The local folder of `hf://owner/name[@revision]`'s snapshot: from the hub cache, or downloaded into it.

    With HF_HUB_OFFLINE=1 (or `local_files_only`) only the cache is read; what is not there is a
    CheckpointError at once, saying where it looked.
    """
    repo, revision = parse_hub_name(name)
    hub = _hub()
    cache = cache_dir()
    only_local = local_files_only or offline()
    try:
        folder = hub.snapshot_download(repo, revision=revision, cache_dir=str(cache), local_files_only=only_local, library_name="rnn-nlp")
    except hub.errors.LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE=1 is set" if offline() else ("local_files_only" if local_files_only else "the hub could not be reached")
        raise CheckpointError(
            f"{name}: {why} and no snapshot of {repo}{'@' + revision if revision else ''} is in the hub cache {cache}; "
            "download it once online (unset HF_HUB_OFFLINE), or load a local folder"
        ) from None
    except (hub.errors.RepositoryNotFoundError, hub.errors.RevisionNotFoundError) as exc:
        raise CheckpointError(f"{name}: {type(exc).__name__}: no such repo or revision on the hub (or no access to it)") from None
    except hub.errors.HfHubHTTPError as exc:
        raise CheckpointError(f"{name}: the hub answered {exc}") from None
    except Exception as exc:
        if is_connection_error(exc):
            raise CheckpointError(f"{name}: cannot reach the hub ({exc}); with HF_HUB_OFFLINE=1 only the cache {cache} is read") from None
        if isinstance(exc, OSError):
            raise CheckpointError(f"{name}: cannot read or write the hub cache {cache}: {exc.strerror or exc}") from None
        raise
    return Path(folder)


def push_folder(
    folder: Path, repo_id: str, private: bool = False, token: str | None = None, endpoint: str | None = None, message: str | None = None
) -> str:
    """Upload every file of `folder` to model repo `repo_id` (created when missing); returns the commit's URL.

    `token`: else HF_TOKEN or the saved login; `endpoint`: else HF_ENDPOINT or the hub itself.
    """
    check_repo_id(repo_id)
    hub = _hub()
    if offline():
        raise ConfigError(f"push {repo_id}: HF_HUB_OFFLINE=1 is set, so nothing can be uploaded; unset it to push")
    api = hub.HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token, library_name="rnn-nlp")
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), repo_type="model", commit_message=message or f"Upload {folder.name} with rnn-nlp"
        )
    except hub.errors.HfHubHTTPError as exc:
        raise ConfigError(f"push {repo_id}: the hub refused: {exc}") from None
    except ValueError as exc:  # the hub's check of the card's metadata ("Invalid metadata in README.md")
        raise ConfigError(f"push {repo_id}: {exc}") from None
    except Exception as exc:  # no connection, a refused port: the HTTP client's own errors (httpx's are no OSError)
        if not is_connection_error(exc):
            raise
        raise ConfigError(f"push {repo_id}: cannot reach the hub at {api.endpoint}: {exc}") from None
    return str(getattr(info, "commit_url", info))
