"""The engine is headless: importing all of it loads no UI code (backs the import-linter contract)."""

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import engine
for module in pkgutil.walk_packages(engine.__path__, "engine."):
    importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"textual", "alphapt_tui", "screens"})
print(",".join(loaded))
"""


def test_engine_imports_no_ui_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""


def test_engine_does_not_import_kiteconnect_eagerly() -> None:
    # kiteconnect installs Twisted's reactor at import time: only live mode may load it.
    probe = (
        "import engine.kernel, sys; "
        "print('kiteconnect' in sys.modules, 'twisted.internet.reactor' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False False"
