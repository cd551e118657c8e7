"""Open a Model Library Format (folder, .tar or .tar.gz) as a typed ModelLibrary."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from utvm.errors import UtvmError
from utvm.mlf.archive import DEFAULT_LIMITS, ExtractionLimits, extract_archive, is_tar_archive
from utvm.mlf.c_sources import (
    find_packed_metadata,
    read_interface_struct_fields,
    read_packed_metadata,
    sanitize_name,
)
from utvm.mlf.dtypes import tensor_bytes
from utvm.mlf.entry_points import output_dtypes
from utvm.mlf.folder import check_mlf_folder
from utvm.mlf.graph_json import read_graph_signature
from utvm.mlf.metadata import load_metadata
from utvm.mlf.model import ModelLibrary
from utvm.mlf.output_types import complete_outputs
from utvm.mlf.params import read_param_names
from utvm.mlf.plausible import check_library, check_module_names
from utvm.mlf.relay_signature import read_main_parameters, read_main_results
from utvm.mlf.releases import FIRST_WITH_TENSOR_RECORDS, without_tensor_records
from utvm.mlf.tensors import DeclaredTensor, TensorInfo

CRT_DEPENDENCY = "tvm_standalone_crt"


def open_mlf(
    path: str | Path,
    module: str | None = None,
    extract_to: str | Path | None = None,
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> ModelLibrary:
    """Open the MLF at ``path`` and describe one of its modules.

    ``path`` is an MLF folder or a tar archive (plain or gzip). Archives are extracted
    safely into ``extract_to`` (a new folder that is kept) or, by default, into a
    temporary folder removed by ``ModelLibrary.close()``. ``module`` picks a module when
    the archive holds several. Raises UtvmError for anything missing or malformed.
    """
    source = Path(path)
    cleanup: Path | None = None
    if source.is_dir():
        root = source
    elif not source.exists():
        raise UtvmError(f"{source} does not exist. Give the path of an MLF folder or .tar file.")
    elif is_tar_archive(source):
        if extract_to is not None:
            root = extract_archive(source, Path(extract_to), limits)
        else:
            cleanup = Path(tempfile.mkdtemp(prefix="utvm-mlf-"))
            try:
                root = extract_archive(source, cleanup / "mlf", limits)
            except BaseException:
                shutil.rmtree(cleanup, ignore_errors=True)
                raise
    elif _looks_compressed(source):
        raise UtvmError(
            f"{source} is compressed but does not hold a readable tar archive; it is "
            "truncated or corrupt. Export the Model Library Format again."
        )
    else:
        raise UtvmError(
            f"{source} is neither a folder nor a tar archive. Give a Model Library Format as "
            "exported by TVM (a .tar, a .tar.gz, or the folder it unpacks to)."
        )
    try:
        metadata_root = _locate_metadata_root(source, root)
        check_mlf_folder(metadata_root, limits)
        library = _describe(source, metadata_root, module)
        check_library(library)
    except UtvmError as exc:
        if cleanup is None:
            raise
        shutil.rmtree(cleanup, ignore_errors=True)
        raise _inside_archive(exc, source, root) from exc
    except BaseException:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        raise
    library._cleanup_dir = cleanup
    return library


def _inside_archive(error: UtvmError, archive: Path, extracted: Path) -> UtvmError:
    """``error`` with paths in the (now removed) extraction folder written as
    ``<archive>:<path inside it>``, so the message names something the user has."""
    text = str(error)
    for folder in {str(extracted.resolve()), str(extracted)}:
        text = text.replace(folder + "/", f"{archive}:").replace(folder, f"{archive}:.")
    return UtvmError(text)


def _looks_compressed(path: Path) -> bool:
    """gzip, bzip2 or xz magic bytes at the start of the file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
    except OSError:
        return False
    return head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))


def _locate_metadata_root(source: Path, root: Path) -> Path:
    """The folder holding metadata.json: the root, or its only subfolder (hand-made tars)."""
    if (root / "metadata.json").exists():
        return root
    children = [child for child in root.iterdir() if not child.name.startswith(".")]
    if len(children) == 1 and (children[0] / "metadata.json").is_file():
        return children[0]
    exports = sorted(child.name for child in children if (child / "metadata.json").is_file())
    if exports:
        # A model folder holding several exports (samples/models/tiny_conv_f32: aot_packed/,
        # aot_c/): name them instead of calling the folder "not an MLF".
        listed = ", ".join(f"{source / name}" for name in exports)
        raise UtvmError(f"{source} holds several Model Library Formats, not one: give one of "
                        f"{listed}.")
    if (root / "model.tar").is_file():
        raise UtvmError(
            f"{source} has no metadata.json but holds model.tar; it looks like a generated "
            f"project. Give {source / 'model.tar'} instead."
        )
    raise UtvmError(
        f"{source} has no metadata.json at its top level, so it is not a Model Library "
        "Format. Export one with `tvmc compile ... --output-format mlf` or "
        "tvm.micro.export_model_library_format()."
    )


def _describe(source: Path, root: Path, module: str | None) -> ModelLibrary:
    root = root.resolve()
    metadata = load_metadata(root / "metadata.json")
    version = metadata["version"]
    modules = metadata["modules"] if version >= 7 else {metadata["model_name"]: metadata}
    check_module_names(source, modules)
    name = _pick_module(source, modules, module)
    entry = modules[name]
    many_modules = len(modules) > 1
    executor = entry["executors"][0]

    header = _first_existing(
        root / "codegen" / "host" / "include" / f"tvmgen_{name}.h",
        root / "codegen" / "host" / "include" / f"tvmgen_{sanitize_name(name).lower()}.h",
    )
    interface = "c" if header is not None else "packed"
    c_sources = _module_files(root / "codegen" / "host" / "src", "*.c", name, many_modules)
    object_files = _module_files(root / "codegen" / "host" / "lib", "*.o", name, many_modules)
    if not c_sources and not object_files:
        raise UtvmError(
            f"{source} has no generated code for module '{name}' (nothing under "
            "codegen/host/src/ or codegen/host/lib/). The export is incomplete."
        )
    graph_json = None
    if executor == "graph":
        graph_json = _first_existing(
            root / "executor-config" / "graph" / f"{name}.graph",
            root / "executor-config" / "graph" / "graph.json",
        )
        if graph_json is None:
            raise UtvmError(
                f"{source} uses the graph executor but has no executor-config/graph/{name}.graph."
                " The export is incomplete."
            )
    params_path = _first_existing(root / "parameters" / f"{name}.params")
    param_names = tuple(read_param_names(params_path)) if params_path else ()
    relay_path = _first_existing(root / "src" / f"{name}.relay", root / "src" / "relay.txt")

    main_entries = entry["memory"]["functions"]["main"]
    sizes = _TensorSizes(main_entries, version)
    relay_params = read_main_parameters(relay_path) if relay_path else []
    sizes.relay_results = read_main_results(relay_path) if relay_path else None
    sizes.io_size_bytes = _sum_if_present(main_entries, "io_size_bytes")
    if executor == "graph":
        assert graph_json is not None
        inputs, outputs, order = _graph_tensors(graph_json, root, sizes, param_names)
    elif interface == "c":
        assert header is not None
        inputs, outputs, order = _c_interface_tensors(
            header, root, name, sizes, relay_params, c_sources
        )
    else:
        inputs, outputs, order = _packed_tensors(c_sources, root, sizes, relay_params)

    return ModelLibrary(
        source=source,
        root=root,
        mlf_version=version,
        module_name=name,
        executor=executor,
        interface=interface,
        inputs=inputs,
        outputs=outputs,
        workspace_size_bytes=sum(e["workspace_size_bytes"] for e in main_entries),
        constants_size_bytes=sum(e.get("constants_size_bytes", 0) for e in main_entries),
        io_size_bytes=_sum_if_present(main_entries, "io_size_bytes"),
        targets=_targets(entry["target"]),
        tvm_version=_tvm_version(entry),
        export_datetime=entry.get("export_datetime"),
        c_sources=tuple(c_sources),
        object_files=tuple(object_files),
        interface_header=header,
        graph_json_path=graph_json,
        params_path=params_path,
        param_names=param_names,
        relay_path=relay_path,
        runtime_dir=_runtime_dir(root, entry),
        module_names=tuple(modules),
        order_source=order,
    )


def _pick_module(source: Path, modules: dict[str, Any], wanted: str | None) -> str:
    names = ", ".join(sorted(modules))
    if wanted is not None:
        if wanted not in modules:
            raise UtvmError(f"{source} has no module '{wanted}'; its modules are: {names}.")
        return wanted
    if len(modules) > 1:
        raise UtvmError(f"{source} holds several modules ({names}); choose one (--module NAME).")
    return next(iter(modules))


def _first_existing(*candidates: Path) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)


def _module_files(folder: Path, pattern: str, module: str, many_modules: bool) -> list[Path]:
    files = sorted(path for path in folder.glob(pattern) if path.is_file())
    if many_modules:  # version 7 prefixes each module's files with its name
        own_name = re.compile(rf"{re.escape(module)}_lib\d+\.[co]")
        files = [path for path in files if own_name.fullmatch(path.name)]
    return files


class _TensorSizes:
    """The ``inputs``/``outputs`` name -> {dtype, size} maps of metadata.json (may be empty)."""

    def __init__(self, main_entries: list[dict[str, Any]], version: int) -> None:
        self.version = version  # the MLF's: which release wrote it, for messages
        self.inputs: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        # What other files say about the outputs (output_types.complete_outputs).
        self.relay_results: list[DeclaredTensor] | None = None
        self.io_size_bytes: int | None = None
        for entry in main_entries:
            self.inputs.update(entry.get("inputs") or {})
            self.outputs.update(entry.get("outputs") or {})


def _graph_tensors(
    graph_json: Path, root: Path, sizes: _TensorSizes, param_names: tuple[str, ...]
) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...], str]:
    signature = read_graph_signature(graph_json)
    where = graph_json.relative_to(root).as_posix()
    if sizes.inputs:
        declared_inputs = [t for t in signature.arguments if t.name in sizes.inputs]
    else:
        declared_inputs = [t for t in signature.arguments if t.name not in param_names]
    declared_outputs, output_records = _ordered_outputs(signature.outputs, sizes.outputs, where)
    inputs = _merge(declared_inputs, sizes.inputs, where, "input", sizes.version)
    outputs = _merge(declared_outputs, output_records, where, "output", sizes.version)
    return inputs, outputs, where


def _c_interface_tensors(
    header: Path, root: Path, module: str, sizes: _TensorSizes, relay_params: list[DeclaredTensor],
    c_sources: list[Path],
) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...], str]:
    where = header.relative_to(root).as_posix()
    input_fields, output_fields = read_interface_struct_fields(header, module)
    relay_by_name = {param.name: param for param in relay_params}
    # Struct fields are C identifiers; the Relay text keeps the model's names.
    relay_by_field = {sanitize_name(param.name): param for param in relay_params}
    declared_inputs = []
    for field_name in input_fields:
        name = _metadata_name(field_name, sizes.inputs)
        relay = relay_by_name.get(name) or relay_by_field.get(field_name)
        if relay is not None and name not in sizes.inputs:
            name = relay.name
        shape = relay.shape if relay is not None else None
        dtype = relay.dtype if relay is not None else None
        declared_inputs.append(DeclaredTensor(name, dtype, shape))
    declared_outputs = [
        DeclaredTensor(_metadata_name(field_name, sizes.outputs)) for field_name in output_fields
    ]
    inputs = _merge(declared_inputs, sizes.inputs, where, "input", sizes.version)
    code_dtypes = output_dtypes(c_sources, module, len(inputs), len(declared_outputs))
    declared_outputs, output_records = _completed_outputs(declared_outputs, sizes, inputs,
                                                          code_dtypes)
    outputs = _merge(declared_outputs, output_records, where, "output", sizes.version)
    return inputs, outputs, where


def _completed_outputs(
    declared: list[DeclaredTensor], sizes: _TensorSizes, inputs: tuple[TensorInfo, ...],
    code_dtypes: list[str | None],
) -> tuple[list[DeclaredTensor], dict[str, Any]]:
    unaccounted = None
    if sizes.io_size_bytes is not None:
        unaccounted = sizes.io_size_bytes - sum(t.size_bytes for t in inputs)
    return complete_outputs(declared, sizes.outputs, sizes.relay_results, code_dtypes,
                            unaccounted)


def _packed_tensors(
    c_sources: list[Path], root: Path, sizes: _TensorSizes, relay_params: list[DeclaredTensor]
) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...], str]:
    table_source = find_packed_metadata(c_sources)
    if table_source is None:
        # No readable C metadata (e.g. an LLVM build): fall back to metadata.json, whose
        # order is alphabetical, and to the Relay text for input shapes.
        relay_by_name = {param.name: param for param in relay_params}
        declared_inputs = [
            relay_by_name.get(name, DeclaredTensor(name)) for name in sizes.inputs
        ]
        declared_outputs = [DeclaredTensor(name) for name in sizes.outputs]
        # Relay's results are in the model's order: usable only when there is one.
        relay_results = sizes.relay_results if len(declared_outputs) == 1 else None
        declared_outputs, output_records = complete_outputs(
            declared_outputs, sizes.outputs, relay_results, [], None
        )
        where = "metadata.json (alphabetical order: the real order is not recorded)"
    else:
        declared_inputs, packed_outputs = read_packed_metadata(table_source)
        # The tables hold names as C identifiers (serving_default_input:0 ->
        # serving_default_input_0); metadata.json keeps the model's.
        declared_inputs = [
            DeclaredTensor(_metadata_name(t.name, sizes.inputs), t.dtype, t.shape)
            for t in declared_inputs
        ]
        where = table_source.relative_to(root).as_posix()
        declared_outputs, output_records = _ordered_outputs(packed_outputs, sizes.outputs, where)
    inputs = _merge(declared_inputs, sizes.inputs, where, "input", sizes.version)
    outputs = _merge(declared_outputs, output_records, where, "output", sizes.version)
    return inputs, outputs, where


def _metadata_name(field_name: str, recorded: dict[str, Any]) -> str:
    """Map a sanitized C identifier back to the tensor name metadata.json uses."""
    if field_name in recorded:
        return field_name
    matches = [name for name in recorded if sanitize_name(name) == field_name]
    return matches[0] if len(matches) == 1 else field_name


def _ordered_outputs(
    outputs: tuple[DeclaredTensor, ...] | list[DeclaredTensor],
    recorded: dict[str, Any],
    where: str,
) -> tuple[list[DeclaredTensor], dict[str, Any]]:
    """Name the outputs and pick the metadata.json records that can be matched to them.

    Graph JSON and packed metadata do not name outputs (or call them output0, output1...),
    while metadata.json may use model names in alphabetical order. One output, or the
    generic names, can be matched; otherwise only the count is checked.
    """
    if recorded and len(recorded) != len(outputs):
        raise UtvmError(
            f"the MLF is inconsistent: metadata.json lists {len(recorded)} outputs "
            f"({', '.join(recorded)}) but {where} declares {len(outputs)}."
        )
    if len(outputs) == 1 and len(recorded) == 1:
        names = list(recorded)
    else:
        names = [f"output{i}" for i in range(len(outputs))]
    named = [DeclaredTensor(names[i], t.dtype, t.shape) for i, t in enumerate(outputs)]
    matched = recorded if set(recorded) == set(names) else {}
    return named, matched


def _merge(
    declared: list[DeclaredTensor], recorded: dict[str, Any], where: str, role: str,
    version: int,
) -> tuple[TensorInfo, ...]:
    """Combine the ordered declarations with metadata.json's dtypes and byte sizes."""
    if recorded and len(declared) != len(recorded):
        raise UtvmError(
            f"the MLF is inconsistent: metadata.json lists {len(recorded)} {role}s "
            f"({', '.join(recorded)}) but {where} declares {len(declared)}."
        )
    merged = []
    for tensor in declared:
        record = recorded.get(tensor.name)
        if record is None and recorded:
            raise UtvmError(
                f"the MLF is inconsistent: {role} '{tensor.name}' from {where} is not among "
                f"metadata.json's {role}s ({', '.join(recorded)})."
            )
        dtype = record["dtype"] if record else tensor.dtype
        if dtype is None:
            raise UtvmError(
                f"cannot tell the dtype of {role} '{tensor.name}': metadata.json lists no "
                f"per-tensor dtypes ({without_tensor_records(version)}) and {where} does not "
                f"say. Export the model with {FIRST_WITH_TENSOR_RECORDS} or later."
            )
        if tensor.dtype is not None and tensor.dtype != dtype:
            raise UtvmError(
                f"the MLF is inconsistent: {role} '{tensor.name}' is {dtype} in metadata.json "
                f"but {tensor.dtype} in {where}."
            )
        shape_bytes = None if tensor.shape is None else tensor_bytes(dtype, tensor.shape)
        size = record["size"] if record else shape_bytes
        if size is None:
            raise UtvmError(
                f"cannot tell the size of {role} '{tensor.name}': metadata.json lists no "
                f"per-tensor sizes ({without_tensor_records(version)}) and {where} does not "
                f"say. Export the model with {FIRST_WITH_TENSOR_RECORDS} or later."
            )
        if shape_bytes is not None and shape_bytes != size:
            raise UtvmError(
                f"the MLF is inconsistent: {role} '{tensor.name}' is {size} bytes in "
                f"metadata.json but shape {list(tensor.shape or ())} ({shape_bytes} bytes) "
                f"in {where}."
            )
        merged.append(TensorInfo(tensor.name, dtype, size, tensor.shape))
    return tuple(merged)


def _sum_if_present(entries: list[dict[str, Any]], key: str) -> int | None:
    values = [entry[key] for entry in entries if key in entry]
    return sum(values) if values else None


def _targets(target: Any) -> tuple[str, ...]:
    if isinstance(target, dict):  # version 5: device type -> target string
        return tuple(str(value) for value in target.values())
    return tuple(str(value) for value in target)


def _tvm_version(entry: dict[str, Any]) -> str | None:
    for dependency in entry.get("external_dependencies") or []:
        if dependency.get("short_name") == CRT_DEPENDENCY and dependency.get("version_spec"):
            return str(dependency["version_spec"])
    return None


def _runtime_dir(root: Path, entry: dict[str, Any]) -> Path | None:
    for dependency in entry.get("external_dependencies") or []:
        is_crt = dependency.get("short_name") == CRT_DEPENDENCY
        if is_crt and dependency.get("url_type") == "mlf_path":
            candidate = (root / dependency["url"]).resolve()
            if candidate.is_dir() and candidate.is_relative_to(root.resolve()):
                return candidate
    fallback = root / "runtime"
    return fallback if fallback.is_dir() else None
