"""Packaging: pyproject lists every package, the wheel holds what a user needs, and the wheel works
outside the checkout, with a user's own tasks.py in the working directory.

The wheel is built offline (`pip wheel --no-deps --no-build-isolation`) from a copy of the working
tree, and installed with `pip --python NEW install --no-deps` into a virtual environment made without
pip in a temporary folder; a .pth line there makes this environment's site-packages (the dependencies)
visible. A path line in a .pth file is not itself scanned for .pth files, so the editable install's
finder never runs there: rnn_nlp must come from the wheel. RNN_NLP_SKIP_WHEEL_INSTALL=1 skips the
tests that install it (they need no network as they are).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from rnn_nlp.version import __version__
from tests.api_data import write_data

ROOT = Path(__file__).resolve().parents[1]
# the folders of the checkout that install as packages, and their names there (pyproject's package-dir)
SOURCES = {"rnn_nlp": "rnn_nlp", "tasks": "rnn_nlp.tasks", "configs": "rnn_nlp.configs"}
NOT_PACKAGING = {".venv", ".git", "build", "dist", "__pycache__", ".hypothesis", ".pytest_cache", ".import_linter_cache"}
CLI_NOT_PACKAGED = (
    "rnn_nlp/cli/ is not in pyproject's [tool.setuptools] packages: the wheel has no rnn_nlp.cli, "
    "so its rnn-nlp console script cannot start"
)
skip_install = pytest.mark.skipif(os.environ.get("RNN_NLP_SKIP_WHEEL_INSTALL") == "1", reason="RNN_NLP_SKIP_WHEEL_INSTALL=1")
TINY_LM = [
    "head.softmax=full",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "backbone.layers=1",
    "trainer.epochs=1",
    "trainer.batch_size=4",
    "trainer.eval_batch_size=4",
    "trainer.bptt=8",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]


def pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def source_packages() -> dict[str, Path]:
    """Installed package name -> folder, for every folder of rnn_nlp/, tasks/, configs/ holding .py or .yaml files."""
    found = {}
    for top, name in SOURCES.items():
        for folder in [ROOT / top, *sorted(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if "__pycache__" in folder.parts or not any(f.suffix in (".py", ".yaml") for f in folder.iterdir()):
                continue
            found[".".join([name, *folder.relative_to(ROOT / top).parts])] = folder
    return found


def test_pyproject_lists_every_package_folder():
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    assert sorted(set(source_packages()) - listed) == []
    assert sorted(listed - set(source_packages())) == []


def test_pyproject_maps_tasks_and_configs_inside_the_package():
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"rnn_nlp.tasks": "tasks", "rnn_nlp.configs": "configs"}
    assert "tasks" not in setuptools["packages"] and "configs" not in setuptools["packages"]
    assert any("pdoc" in r for r in pyproject()["project"]["optional-dependencies"]["test"])


def test_no_package_file_is_git_ignored():
    """A .gitignore pattern that matches a package folder (as 'runs/' once hid rnn_nlp/runs/) leaves a clone unable to import it."""
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--others", "--ignored", "--exclude-standard", "--", *SOURCES],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [f for f in ignored if f.endswith((".py", ".yaml", ".typed"))] == []
    inits = [str((folder / "__init__.py").relative_to(ROOT)) for folder in source_packages().values()]
    checked = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--", *inits], capture_output=True, text=True)
    assert checked.stdout.split() == []  # check-ignore names the paths that .gitignore matches (tracked ones never)


# ---- the wheel ----------------------------------------------------------------------------
def _copy_ignore(folder: str, names: list[str]) -> list[str]:
    top = Path(folder) == ROOT
    return [n for n in names if n in NOT_PACKAGING or n.endswith(".egg-info") or (top and n == "runs")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the working tree (the checkout itself gets no build/ folder)."""
    root = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, root / "src", ignore=_copy_ignore)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(root / "src"),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(root / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = (root / "dist").glob("rnn_nlp-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_holds_tasks_recipes_types_and_license(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for py in (ROOT / "tasks").glob("*.py"):
        assert f"rnn_nlp/tasks/{py.name}" in names
    for yaml in (ROOT / "configs").rglob("*.yaml"):
        assert f"rnn_nlp/configs/{yaml.relative_to(ROOT / 'configs').as_posix()}" in names
    assert "rnn_nlp/py.typed" in names and "rnn_nlp/api.py" in names and "rnn_nlp/results.py" in names
    for static in (ROOT / "rnn_nlp" / "serve" / "static").iterdir():  # the served page's own files: no CDN
        assert f"rnn_nlp/serve/static/{static.name}" in names
    dist_info = f"rnn_nlp-{__version__}.dist-info"
    assert zipfile.ZipFile(wheel).read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert {n.split("/")[0] for n in names} == {"rnn_nlp", dist_info}  # no top-level tasks/ or configs/
    assert zipfile.ZipFile(wheel).read(f"{dist_info}/top_level.txt").decode().split() == ["rnn_nlp"]


def test_the_wheel_metadata(wheel):
    from packaging.requirements import Requirement

    meta = Parser().parsestr(zipfile.ZipFile(wheel).read(f"rnn_nlp-{__version__}.dist-info/METADATA").decode("utf-8"))
    assert meta["Name"] == "rnn-nlp" and meta["Version"] == __version__
    assert meta["License"] == "MIT" or meta["License-Expression"] == "MIT"
    requires = {r.name: r for r in map(Requirement, meta.get_all("Requires-Dist")) if r.marker is None}
    assert {"torch", "spacy", "datasets", "safetensors", "PyYAML"} <= set(requires)
    torch = requires["torch"].specifier
    assert "2.13.0" in torch and "2.13.1" not in torch and "2.2" in torch and "2.1.2" not in torch  # bounded both ways
    assert meta["Requires-Python"] == ">=3.10"


def test_the_wheel_holds_every_module_and_what_its_entry_points_name(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, folder in source_packages().items():
        for py in folder.glob("*.py"):
            assert f"{package.replace('.', '/')}/{py.name}" in names
    entry_points = zipfile.ZipFile(wheel).read(f"rnn_nlp-{__version__}.dist-info/entry_points.txt").decode()
    for line in entry_points.splitlines():
        if "=" in line:
            module = line.split("=", 1)[1].strip().split(":")[0].replace(".", "/")
            assert f"{module}.py" in names or f"{module}/__init__.py" in names, line


# ---- the wheel installed outside the checkout -------------------------------------------------
class FreshEnv:
    """A virtual environment in a temporary folder with the wheel installed, and a working directory
    outside the checkout that holds a tasks.py which stops any import of a top-level `tasks`."""

    def __init__(self, root: Path, wheel: Path):
        self.root, self.venv, self.cwd = root, root / "venv", root / "work"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=120)
        self.python = self.venv / "bin" / "python"
        site = Path(
            subprocess.run(
                [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", "--no-deps", "--no-index", str(wheel)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        self.cwd.mkdir()
        (self.cwd / "tasks.py").write_text('raise SystemExit("shadowed")\n', encoding="utf-8")
        self.corpus = write_data("lm", self.cwd / "corpus")

    def run(self, *argv: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(OMP_NUM_THREADS="1", PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        done = subprocess.run(list(argv), cwd=self.cwd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "shadowed" not in done.stdout + done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, wheel) -> FreshEnv:
    return FreshEnv(tmp_path_factory.mktemp("fresh"), wheel)


@pytest.mark.slow
@skip_install
def test_the_python_api_from_the_wheel_beside_a_users_tasks_py(fresh):
    out = fresh.run(
        str(fresh.python),
        "-c",
        "import rnn_nlp, rnn_nlp.tasks, rnn_nlp.builtin_recipes as b; "
        "print(rnn_nlp.__file__); print(rnn_nlp.tasks.__file__); print(b.recipes_dir()); print(rnn_nlp.__version__)",
    )
    files = out.split()
    for path in files[:3]:
        assert Path(path).resolve().is_relative_to(fresh.venv.resolve()), path  # the wheel's copy, not the checkout's
    assert files[3] == __version__
    overrides = [f"data.name={fresh.corpus}", *TINY_LM]
    script = (
        f"import rnn_nlp; rnn_nlp.train('lm-ptb', overrides={overrides!r}, out='run-api'); "
        "print(type(rnn_nlp.load('run-api')).__name__); print(rnn_nlp.load('run-api').predict('the cat', max_tokens=3).text)"
    )
    name, text = fresh.run(str(fresh.python), "-c", script).splitlines()
    assert name == "LanguageModel" and len(text.split()) == 3


@pytest.mark.slow
@skip_install
def test_the_cli_from_the_wheel_beside_a_users_tasks_py(fresh):
    assert fresh.run("rnn-nlp", "--version").strip() == f"rnn-nlp {__version__}"
    assert "lm-ptb" in fresh.run("rnn-nlp", "recipes").split()
    fresh.run("rnn-nlp", "train", "lm-ptb", f"data.name={fresh.corpus}", *TINY_LM, "--out", "run-cli")
    assert "lm-ptb" in fresh.run(str(fresh.python), "-m", "rnn_nlp.cli", "recipes", "list").split()
    text = fresh.run(str(fresh.python), "-c", "import rnn_nlp; print(rnn_nlp.load('run-cli').predict('the cat', max_tokens=3))")
    assert len(text.split()) == 3
