"""Loading the YAML data files (crews, flows) into validated models with errors that name the file
and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from newsroom.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: Path, model: type[M], *, what: str, option: str, extra: dict[str, Any] | None = None) -> M:
    """Parse ``path`` and validate it as ``model``; every failure is one ``ConfigError`` line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{what} {str(path)!r} is missing ({option})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    try:
        return model.model_validate({**(extra or {}), **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{path}: field {'.'.join(map(str, err['loc']))!r}: {err['msg']}") from None
