"""Step Functions' data flow around a state's work: InputPath, ResultPath, OutputPath,
the next state, and the payload size limit."""

from __future__ import annotations

import json
from typing import Any

from etlgen.asl import jsonpath
from etlgen.asl.errors import StatesError

# Step Functions' limit on a state's input or output.
PAYLOAD_LIMIT_BYTES = 262_144


def next_state(state: dict[str, Any]) -> str | None:
    return None if state.get("End") else str(state["Next"])


def input_path(state: dict[str, Any], raw: Any, context: dict[str, Any]) -> Any:
    if "InputPath" not in state:
        return raw
    if state["InputPath"] is None:
        return {}
    return jsonpath.read(state["InputPath"], raw, context, what="InputPath")


def output_path(state: dict[str, Any], output: Any, context: dict[str, Any]) -> Any:
    if "OutputPath" not in state:
        return output
    if state["OutputPath"] is None:
        return {}
    return jsonpath.read(state["OutputPath"], output, context, what="OutputPath")


def result_path(path: str | None, raw: Any, result: Any) -> Any:
    if path is None:
        return raw
    return jsonpath.write(path, raw, result)


def check_size(name: str, value: Any) -> None:
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > PAYLOAD_LIMIT_BYTES:
        raise StatesError("States.DataLimitExceeded",
                          f"The state/task '{name}' returned a result with a size exceeding "
                          f"the maximum number of bytes service limit ({size} > "
                          f"{PAYLOAD_LIMIT_BYTES})")
