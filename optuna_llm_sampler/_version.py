"""The version of the ``optuna-llm-sampler`` distribution, which ships both packages.

The one place the version is written: ``pyproject.toml`` reads it from here
(``[tool.setuptools.dynamic]``), ``optuna_llm_sampler.__version__`` and
``atune_bridge.__version__`` re-export it, and ``atune-bridge --version`` prints it. A plain
literal, so that setuptools reads it without importing the package.
"""

__version__ = "0.2.0"
