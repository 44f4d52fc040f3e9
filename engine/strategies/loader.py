"""Finding strategy classes: built-ins, user files, and installed entry points.

Every problem is one line in :attr:`Catalog.errors`; a bad file or entry point
never stops the others from loading.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

from pydantic import ValidationError

from engine.strategies.base import Strategy, StrategyParams

ENTRY_POINT_GROUP = "alphapt.strategies"
USER_PACKAGE = "alphapt_user_strategies"


class Catalog:
    """Strategy classes by the name settings use, and the problems met finding them."""

    def __init__(self) -> None:
        self.classes: dict[str, type[Strategy]] = {}
        self.errors: list[str] = []

    def add(self, key: str, cls: type[Strategy], origin: str) -> None:
        """Register ``cls`` under ``key`` unless the name is taken."""
        if key in self.classes and self.classes[key] is not cls:
            self.errors.append(f"{origin}: strategy class name {key!r} is already taken; skipped")
            return
        self.classes[key] = cls


def load_catalog(
    builtins: dict[str, type[Strategy]], directory: Path | None, entry_points: bool
) -> Catalog:
    """Built-ins, then ``directory/*.py``, then the ``alphapt.strategies`` entry points."""
    catalog = Catalog()
    for key, cls in builtins.items():
        catalog.add(key, cls, "built-in")
    if directory is not None and directory.is_dir():
        for path in sorted(directory.glob("*.py")):
            if not path.name.startswith("_"):
                load_file(catalog, path)
    if entry_points:
        load_entry_points(catalog)
    return catalog


def load_file(catalog: Catalog, path: Path) -> None:
    """Import one strategy file and register every Strategy subclass it defines."""
    module_name = f"{USER_PACKAGE}.{path.stem}"
    origin = f"strategy file {path.name}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError("not a Python module")
        module = importlib.util.module_from_spec(spec)
        # pydantic resolves postponed annotations through sys.modules, so register first.
        sys.modules[module_name] = module
        # Compiled from source every time: a file rewritten within the same second as its
        # cached bytecode would otherwise reload stale, and the user's folder stays clean.
        exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        catalog.errors.append(f"{origin}: {one_line(exc)}")
        return
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == module_name
    ]
    if not found:
        catalog.errors.append(f"{origin}: defines no Strategy subclass")
    for cls in found:
        catalog.add(cls.key or cls.__name__, cls, origin)


def load_entry_points(catalog: Catalog) -> None:
    """Register the classes named by installed ``alphapt.strategies`` entry points."""
    try:
        points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:
        catalog.errors.append(f"entry points {ENTRY_POINT_GROUP}: {one_line(exc)}")
        return
    for point in points:
        origin = f"entry point {point.name}"
        try:
            cls = point.load()
        except Exception as exc:
            catalog.errors.append(f"{origin}: {one_line(exc)}")
            continue
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            catalog.errors.append(f"{origin}: {point.value} is not a Strategy subclass")
            continue
        catalog.add(point.name, cls, origin)


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (a SyntaxError names its line)."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def describe_params_error(exc: ValidationError) -> str:
    """The first bad parameter, what is allowed and what was given, on one line."""
    error = exc.errors()[0]
    key = ".".join(["params", *(str(part) for part in error["loc"])])
    message = "unknown parameter" if error["type"] == "extra_forbidden" else error["msg"]
    given = error.get("input")
    given_text = "" if isinstance(given, dict) or given is None else f" (got {given!r})"
    more = len(exc.errors()) - 1
    tail = f"; and {more} more" if more > 0 else ""
    return f"{key}: {message}{given_text}{tail}"


def validate_params(cls: type[Strategy], params: dict) -> StrategyParams | str:
    """The validated parameters, or the one-line reason they are invalid."""
    try:
        return cls.Params.model_validate(params)
    except ValidationError as exc:
        return describe_params_error(exc)
