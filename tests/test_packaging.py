"""The distributions PyPI would get: built, checked, their contents, and the wheel at work.

``python -m build`` makes the source distribution and the wheel once per session (in a
temporary folder, with build isolation as a publisher runs it), ``twine check --strict``
checks them as PyPI's upload does, and the wheel is installed with its ``llm`` extra into a
fresh virtual environment outside the repository, where ``atune-bridge --version``,
``atune-bridge space --example nginx``, the README's bridge example and the README's
sampler example (with the ``random`` stand-in, not a model) run. Marked ``packaging``:
``-m "not packaging"`` leaves them out; ``scripts/test.sh`` runs them. They need PyPI or
pip's cache for the build requirements and the wheel's dependencies.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from atune_bridge import __version__ as bridge_version
from atune_bridge import example_names
from optuna_llm_sampler._version import __version__

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.packaging

NOT_SHIPPED = {".ci/run", ".gitignore"}
"""Tracked files the source distribution leaves out: CI's entry point and git's own."""
GENERATED = re.compile(r"^(PKG-INFO|setup\.cfg|[^/]+\.egg-info/.*)$")
"""Files the build writes into the source distribution."""


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The source distribution and the wheel, built from this tree into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0], "log": _write(out / "build.log", done.stdout + done.stderr)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _sdist_files(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    return {name.split("/", 1)[1] for name in names}


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(name))


def _tracked_files() -> set[str]:
    """The files git tracks or would (not ignored), that exist."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True, check=True)
    return {name for name in done.stdout.decode().split("\0") if name and (ROOT / name).is_file()}


def test_twine_check_strict_passes(dists: dict[str, Path]) -> None:
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_build_warns_of_nothing_deprecated(dists: dict[str, Path]) -> None:
    # e.g. "`project.license` as a TOML table is deprecated", to be removed in 2027.
    log = dists["log"].read_text()
    assert "deprecated" not in log.lower(), log[-4000:]


def test_the_metadata_names_the_licence_version_and_python(dists: dict[str, Path]) -> None:
    meta = _wheel_metadata(dists["wheel"])
    assert meta["Name"] == "optuna-llm-sampler"
    assert meta["Version"] == __version__ == bridge_version
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    classifiers = meta.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.13" in classifiers and "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the expression says it
    assert meta["Author"] or meta["Author-email"]
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"llm", "local", "openai", "dashscope", "report", "all"} <= extras


def test_the_wheel_holds_the_two_packages_their_data_and_the_licence(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = set(zf.namelist())
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"atune_bridge", "optuna_llm_sampler", f"optuna_llm_sampler-{__version__}.dist-info"}
    assert {"atune_bridge/py.typed", "optuna_llm_sampler/py.typed", "optuna_llm_sampler/_version.py",
            f"optuna_llm_sampler-{__version__}.dist-info/licenses/LICENSE"} <= names
    shipped = {n for n in names if n.startswith("atune_bridge/examples/")}
    assert shipped == {f"atune_bridge/examples/{name}_{role}.yaml"
                       for name in example_names() for role in ("server", "client")}


def test_the_sdist_holds_every_file_of_the_tree_but_ci_and_nothing_else(dists: dict[str, Path]) -> None:
    """Docs, examples, tests and their data, studies, benchmarks, scripts, the OptunaHub
    package: what someone working from source needs; no run's leftovers, no virtualenv."""
    files = {f for f in _sdist_files(dists["sdist"]) if not GENERATED.match(f)}
    tracked = _tracked_files() - NOT_SHIPPED
    assert not files - tracked, f"in the sdist but not tracked by git: {sorted(files - tracked)[:20]}"
    assert not tracked - files, f"tracked but left out of the sdist: {sorted(tracked - files)[:20]}"
    assert {"LICENSE", "README.md", "docs/dashboard.md", "tests/data/atune_examples/redis/redis_server.yaml",
            "studies/nginx/run.sh", "benchmarks/surfaces/nginx/surface.json", "scripts/test.sh",
            "examples/ray_tune.py"} <= files


def _readme_links() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return {m.group(1).split("#", 1)[0] for m in re.finditer(r"\]\(([^)\s]+)\)", readme)} - {""}


def _relative(links: set[str]) -> set[str]:
    return {link for link in links if not re.match(r"^[a-z]+:", link)}


def test_the_readme_links_to_files_the_sdist_holds(dists: dict[str, Path]) -> None:
    files = _sdist_files(dists["sdist"])
    relative = _relative(_readme_links())
    assert relative, "the README links to no file of its own: is the pattern right?"
    assert not {link for link in relative if link not in files}


def test_once_the_repository_has_an_address_the_readme_links_are_absolute() -> None:
    """PyPI's page resolves no relative link (``docs/evidence.md`` would be dead there): once
    ``[project.urls]`` names the repository (``Source``), the README's links must point into it."""
    tomllib = pytest.importorskip("tomllib")
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("urls", {})
    if "Source" not in urls:
        pytest.skip("[project.urls] has no Source yet: the README's links stay relative (the sdist holds them)")
    assert not _relative(_readme_links()), f"relative links, dead on PyPI: {sorted(_relative(_readme_links()))}"


def _fresh_venv(where: Path) -> Path:
    """A virtual environment without pip (this interpreter's pip installs into it)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    return where / "bin"


def test_the_wheel_installed_outside_the_repository_works(dists: dict[str, Path], tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    python = bin_dir / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile",
         "--disable-pip-version-check", f"{dists['wheel']}[llm]"],
        capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, cwd=work, env=env)

    version = run(bin_dir / "atune-bridge", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"atune-bridge {__version__}"), version.stderr

    space = run(bin_dir / "atune-bridge", "space", "--example", "nginx")
    assert space.returncode == 0, space.stdout + space.stderr
    assert "(server, project 'nginx', 14 parameters)" in space.stdout and "(client, project 'nginx'" in space.stdout
    assert str(tmp_path / "venv") in space.stdout  # the installed copy, not this checkout's
    assert str(ROOT) not in space.stdout

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    bridge = next(b for b in blocks if "from atune_bridge import" in b)
    sampler = next(b for b in blocks if "from optuna_llm_sampler import LLMSampler" in b)
    # The README's sampler example with the random stand-in (not a model) and in-memory storage,
    # then eight trials, so that the default schedule's first model round (trial 7) runs. Its
    # random reply may repeat a configuration of this 16-point space, which the sampler records
    # and hands to TPE: the round ran either way.
    sampler = sampler.replace('make_chat_model("local")', 'make_chat_model("random")')
    sampler = sampler.replace('storage="sqlite:///tune.db"', "storage=None")
    assert 'make_chat_model("random")' in sampler and "storage=None" in sampler, sampler
    sampler += (
        "\nstudy.optimize(lambda t: t.suggest_int('workers', 1, 8) + (t.suggest_categorical('gzip', ['on', 'off']) == 'on'),"
        " n_trials=8)\nprint(study.trials[7].user_attrs.get('llm_round'), study.trials[7].user_attrs.get('llm_model'))\n"
    )
    done = run(python, "-c", bridge + "\nprint(line)\n")
    assert done.returncode == 0 and done.stdout.startswith("worker_processes="), done.stdout + done.stderr
    done = run(python, "-c", sampler)
    assert done.returncode == 0, f"{sampler}\n{done.stdout}{done.stderr}"
    assert done.stdout.strip() == "7 random (stand-in, not a model)", done.stdout + done.stderr
    where = run(python, "-c", "import atune_bridge, optuna_llm_sampler; print(atune_bridge.__file__, optuna_llm_sampler.__file__)")
    assert where.stdout.count(str(tmp_path / "venv")) == 2, where.stdout
