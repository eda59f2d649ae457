"""Parse pipeline.yaml keeping where every key and value was written.

PyYAML's composed nodes carry marks; we read them before constructing Python values so
every later error can point at a line and column. Duplicate keys are refused here: YAML
loaders silently keep the last one, which hides typos such as a repeated block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from etlgen.config.problems import Path, Position, Problem

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class YamlDocument:
    """Parsed data plus the position of each key and value, by path from the root."""

    data: Any
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)

    def key_position(self, path: Path) -> Position:
        """Where the key of `path` was written, or its closest written ancestor."""
        return self._closest(self.keys, path)

    def value_position(self, path: Path) -> Position:
        """Where the value of `path` starts, or its closest written ancestor."""
        return self._closest(self.values, path)

    def has(self, path: Path) -> bool:
        return path in self.values

    @staticmethod
    def _closest(positions: dict[Path, Position], path: Path) -> Position:
        for length in range(len(path), -1, -1):
            position = positions.get(path[:length])
            if position is not None:
                return position
        return Position(1, 1)


def _position(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def parse_yaml(text: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Return the document (None when empty or unreadable) and the problems found."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        return None, [_unprintable(text, error)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        document = YamlDocument(data=None)
        document.values[()] = _position(node.start_mark)
        problems: list[Problem] = []
        _index(node, (), document, problems, set())
        document.data = loader.construct_document(node)
        return document, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = ", ".join(part for part in (error.context, error.problem) if part)
        return None, [Problem(_position(mark) if mark else None, (),
                              f"invalid YAML: {message}")]
    except yaml.reader.ReaderError as error:
        return None, [_unprintable(text, error)]
    except yaml.YAMLError as error:
        return None, [Problem(None, (), f"invalid YAML: {str(error).splitlines()[0]}")]
    finally:
        loader.dispose()


def _unprintable(text: str, error: yaml.reader.ReaderError) -> Problem:
    before = text[: error.position]
    position = Position(before.count("\n") + 1, len(before) - before.rfind("\n"))
    return Problem(position, (), f"invalid YAML: control character U+{error.character:04X} "
                                 "is not allowed (write it as an escape inside double quotes)")


def _index(node: yaml.Node, path: Path, document: YamlDocument, problems: list[Problem],
           seen: set[int]) -> None:
    """Record positions under `node`; report duplicate and non-text keys."""
    if id(node) in seen:  # an alias repeats a node already indexed
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            document.values[(*path, index)] = _position(item.start_mark)
            _index(item, (*path, index), document, problems, seen)
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key_position = _position(key_node.start_mark)
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                problems.append(Problem(key_position, path,
                                        f"key {shown} must be text (quote it)"))
                continue
            key = key_node.value
            child = (*path, key)
            if key in first_line:
                problems.append(Problem(
                    key_position, child,
                    f"duplicate key (first given at line {first_line[key]})",
                ))
                continue
            first_line[key] = key_position.line
            document.keys[child] = key_position
            document.values[child] = _position(value_node.start_mark)
            _index(value_node, child, document, problems, seen)
