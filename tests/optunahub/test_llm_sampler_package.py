"""The OptunaHub package ``optunahub/samplers/llm_sampler``: it loads as OptunaHub loads it,
its example runs, and it passes the registry's checks (front matter, ruff, ruff format, mypy,
mdformat) under the registry's settings (``optunahub/pyproject.toml``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import optunahub
import pytest
import yaml

import optuna_llm_sampler

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "optunahub"
PACKAGE = REGISTRY / "samplers" / "llm_sampler"
CONFIG = REGISTRY / "pyproject.toml"


def _load() -> object:
    return optunahub.load_local_module(package="samplers/llm_sampler", registry_root=str(REGISTRY))


def test_the_folder_has_the_files_the_registry_asks_for() -> None:
    assert sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__") == [
        "LICENSE", "README.md", "__init__.py", "example.py", "requirements.txt"]
    assert (PACKAGE / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()  # MIT, as the project
    assert [line.strip() for line in (PACKAGE / "requirements.txt").read_text().splitlines()] == [
        "optuna-llm-sampler[llm]"]


def test_load_local_module_gives_the_package_s_own_classes() -> None:
    module = _load()
    assert module.LLMSampler is optuna_llm_sampler.LLMSampler  # type: ignore[attr-defined]
    assert module.make_chat_model is optuna_llm_sampler.make_chat_model  # type: ignore[attr-defined]
    for name in module.__all__:  # type: ignore[attr-defined]
        assert getattr(module, name) is getattr(optuna_llm_sampler, name)


def test_a_sampler_from_the_hub_module_runs_a_model_round() -> None:
    module = _load()
    space = {"x": optuna.distributions.IntDistribution(0, 1000)}
    sampler = module.LLMSampler(module.make_chat_model("random:0"), search_space=space,  # type: ignore[attr-defined]
                                baseline={"x": 0}, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: float(t.suggest_int("x", 0, 1000)), n_trials=8)
    assert [t.user_attrs.get("source") for t in study.trials][::7] == ["baseline", "llm"]


def test_without_the_pypi_package_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna_llm_sampler", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'optuna-llm-sampler\[llm\]'"):
        _load()


def test_example_py_runs_with_the_random_stand_in(tmp_path: Path) -> None:
    text = (PACKAGE / "example.py").read_text()
    assert 'MODEL = "random"  # a stand-in that is not a model' in text
    done = subprocess.run([sys.executable, str(PACKAGE / "example.py")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if line.startswith("trial ")]) == 12
    assert lines[0].startswith("trial  0 baseline") and lines[-1].startswith("best: trial ")


def _front_matter() -> tuple[dict[str, object], str]:
    text = (PACKAGE / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(head), body


def test_the_readme_front_matter_has_every_field_the_registry_checks() -> None:
    meta, _ = _front_matter()
    for key in ("author", "title", "description", "tags", "optuna_versions", "license"):
        assert meta.get(key) not in (None, ""), f"front matter field {key!r} is missing or empty"
    assert isinstance(meta["tags"], list) and "sampler" in meta["tags"]  # a package under samplers/
    assert all(isinstance(v, str) for v in meta["optuna_versions"])  # type: ignore[attr-defined]
    assert meta["license"] == "MIT License"


def test_the_readme_has_the_registry_s_sections_and_no_html() -> None:
    _, body = _front_matter()
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    assert headings == ["## Abstract", "## APIs", "## Installation", "## Example", "## Others"]
    # The registry strips HTML tags from the README it publishes.
    assert "<" not in body.replace("<=", "").replace("->", "")


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "--no-cache", "--config", str(CONFIG), str(PACKAGE)],
        ["ruff", "format", "--check", "--no-cache", "--config", str(CONFIG), str(PACKAGE)],
        # As the registry's pre-commit hook runs it: in an environment of its own, where optuna
        # and optuna_llm_sampler are missing imports (ignore_missing_imports).
        ["mypy", "--config-file", str(CONFIG), "--no-site-packages", "--cache-dir", "/dev/null", str(PACKAGE)],
        ["mdformat", "--check", str(PACKAGE / "README.md")],
    ],
    ids=["ruff", "ruff-format", "mypy", "mdformat"],
)
def test_the_registry_s_linters_pass(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=300,
                          cwd=REGISTRY)
    assert done.returncode == 0, done.stdout + done.stderr
