"""Load ``metadata.json`` and check it against the schema of its MLF version.

The schemas are YAML files shipped in ``utvm/mlf/schemas/`` and checked with pykwalify,
so a broken or foreign file is reported by field path (``/modules/default/executors``)
instead of failing later with a KeyError.
"""

from __future__ import annotations

import functools
import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pykwalify.core import Core

from utvm.errors import UtvmError
from utvm.mlf.releases import writer

SUPPORTED_VERSIONS = (5, 6, 7)
_SCHEMA_PACKAGE = "utvm.mlf"
_SHARED_FRAGMENTS = {"memory": "common_memory.yaml"}
_MAX_METADATA_BYTES = 64 * 1024 * 1024
_MAX_VALUE_REPR = 60
_MAX_NESTING = 32

# pykwalify logs every schema violation at ERROR level; we report them ourselves.
_pykwalify_log = logging.getLogger("pykwalify")
_pykwalify_log.addHandler(logging.NullHandler())
_pykwalify_log.propagate = False


def load_metadata(path: Path) -> dict[str, Any]:
    """Read, parse and validate ``metadata.json``; return it as a dict.

    Raises UtvmError naming the file and the offending field for anything that is not a
    full-model metadata.json of a supported version.
    """
    data = _read_json(path)
    version = _checked_version(path, data)
    errors = _schema_errors(data, version)
    if errors:
        listed = "\n".join(f"  - {error}" for error in errors)
        raise UtvmError(
            f"{path} does not match the Model Library Format version {version} schema:\n"
            f"{listed}\n"
            "Export the model again with TVM (tvmc compile --output-format mlf, or "
            "tvm.micro.export_model_library_format)."
        )
    return data


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise UtvmError(
            f"{path} is missing: every Model Library Format has a metadata.json at its top "
            "level. Is this folder or archive really an MLF export?"
        )
    if path.stat().st_size > _MAX_METADATA_BYTES:
        raise UtvmError(f"{path} is larger than {_MAX_METADATA_BYTES} bytes; refusing to parse it.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UtvmError(f"{path} is not UTF-8 text ({exc}).") from exc
    except json.JSONDecodeError as exc:
        raise UtvmError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except (RecursionError, ValueError) as exc:
        raise UtvmError(f"{path} cannot be parsed: {_json_limit_hit(exc)}.") from exc
    _check_nesting(path, data)
    return data


def _json_limit_hit(exc: Exception) -> str:
    """What a parse that hit one of Python's limits (nesting, digits) ran into."""
    if isinstance(exc, RecursionError):
        return "it is nested far too deeply for a metadata.json"
    return f"{exc} (a number far too long for a metadata.json)"


def _check_nesting(path: Path, data: Any) -> None:
    """Refuse JSON nested deeper than any real metadata.json (about 8 levels), before the
    schema check recurses into it. Iterative, so the check itself cannot overflow."""
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > _MAX_NESTING:
            raise UtvmError(
                f"{path} is nested more than {_MAX_NESTING} levels deep; a Model Library "
                "Format metadata.json has fewer than 10. Refusing to read it."
            )
        if isinstance(node, dict):
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)


def _checked_version(path: Path, data: Any) -> int:
    if not isinstance(data, dict):
        raise UtvmError(
            f"{path} holds a JSON {type(data).__name__}, not an object; this is not a Model "
            "Library Format metadata.json."
        )
    if "version" not in data:
        raise UtvmError(
            f"{path} has no 'version' field; it is not a Model Library Format metadata.json "
            "(or one older than version 5, which utvm does not read)."
        )
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise UtvmError(f"{path}: field 'version' must be an integer, found {version!r}.")
    style = data.get("style")
    if style == "operator":
        raise UtvmError(
            f"{path} describes an operator-style export (from tvm.build). utvm needs a full "
            "model: build it with tvm.relay.build (or tvmc compile) and export that."
        )
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        newer = " Newer than this utvm: please update utvm." if version > 7 else ""
        older = " Export it again with TVM 0.8 or newer." if version < 5 else ""
        raise UtvmError(
            f"{path}: Model Library Format version {version} is not supported (it comes from "
            f"{writer(version)}; supported: {supported}, i.e. TVM 0.8 to 0.18).{older}{newer}"
        )
    return version


def _schema_errors(data: dict[str, Any], version: int) -> list[str]:
    core = Core(source_data=data, schema_data=versioned_schema(version))
    core.validate(raise_exception=False)
    return [_describe(entry) for entry in core.errors]


def _describe(entry: Any) -> str:
    """Turn a pykwalify error entry into "<field path>: <problem>"."""
    fields = {key: value for key, value in vars(entry).items() if key != "msg"}
    if "value" in fields:
        fields["value"] = _short_text(fields["value"])
    fields["path"] = fields.get("path") or "/"
    try:
        text = entry.msg.format(**fields)
    except (KeyError, IndexError, ValueError):
        text = str(entry.msg)
    # pykwalify appends "Path: '...'"; we lead with the path instead.
    for marker in (" Value path: ", " Path: "):
        head, found, tail = text.partition(marker)
        if found:
            text = head + tail.split("'", 2)[-1].rstrip()
            break
    field = fields["path"]
    if "key" in fields and "required key" in text:
        field = f"{field.rstrip('/')}/{fields['key']}"
        text = "required field is missing"
    return f"{field}: {text.strip()}"


def _short_text(value: Any) -> str:
    if isinstance(value, bytes):  # pykwalify hands some values over as UTF-8 bytes
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        shown = value
    else:
        try:
            shown = json.dumps(value)
        except (TypeError, ValueError):
            shown = repr(value)
    if len(shown) > _MAX_VALUE_REPR:
        shown = shown[: _MAX_VALUE_REPR - 3] + "..."
    return shown


@functools.cache
def versioned_schema(version: int) -> dict[str, Any]:
    """The pykwalify schema for one MLF version, with shared fragments spliced in."""
    schema = _load_yaml(f"metadata_v{version}.yaml")
    fragments = {name: _load_yaml(file) for name, file in _SHARED_FRAGMENTS.items()}
    return _splice(schema, fragments)


def _load_yaml(name: str) -> Any:
    schema_file = resources.files(_SCHEMA_PACKAGE).joinpath("schemas").joinpath(name)
    text = schema_file.read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _splice(node: Any, fragments: dict[str, Any]) -> Any:
    """Replace every ``{include: <name>}`` placeholder with the named fragment."""
    if isinstance(node, dict):
        if set(node) == {"include"} and node["include"] in fragments:
            return fragments[node["include"]]
        return {key: _splice(value, fragments) for key, value in node.items()}
    if isinstance(node, list):
        return [_splice(item, fragments) for item in node]
    return node
