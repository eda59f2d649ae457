"""`etlgen` command line: render, validate, package, run, graph.

Every user-facing failure is an `EtlgenError`: one line on stderr and its exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from etlgen.errors import EtlgenError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etlgen",
        description="Generate, check and run serverless CSV ETL pipelines from pipeline.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="print the CloudFormation template")
    render.add_argument("config", nargs="?", default="pipeline.yaml", type=Path)
    render.add_argument(
        "--format", choices=["json", "json-pretty", "yaml"], default="json",
        help="json (default): one line per resource, small enough for "
        "`aws cloudformation deploy --template-file`; json-pretty: indented, for reading",
    )
    render.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")

    validate = commands.add_parser(
        "validate", help="check the config and lint the rendered template with cfn-lint"
    )
    validate.add_argument("config", nargs="?", default="pipeline.yaml", type=Path)

    package = commands.add_parser(
        "package", help="build the handlers zip under the key the template's functions load"
    )
    package.add_argument("config", nargs="?", default="pipeline.yaml", type=Path)
    package.add_argument("-o", "--output-dir", type=Path, default=Path("dist"))

    run = commands.add_parser("run", help="run the pipeline locally over one CSV file")
    run.add_argument("config", type=Path)
    run.add_argument("csv", type=Path)
    run.add_argument("--workdir", type=Path, default=Path(".etlgen"))
    run.add_argument("--workers", type=int, default=None, help="parallel chunk workers")
    run.add_argument(
        "--retry-scale", type=float, default=0.01,
        help="multiply retry waits by this (attempt counts stay as defined)",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    graph = commands.add_parser("graph", help="print the state machine as a Mermaid diagram")
    graph.add_argument("config", nargs="?", default="pipeline.yaml", type=Path)
    return parser


def _render(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.render import render

    text = render(load_config(args.config), fmt=args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.lint import lint_template
    from etlgen.render import render

    problems = lint_template(render(load_config(args.config)))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{args.config}: template has {len(problems)} cfn-lint finding(s)", file=sys.stderr)
        return 1
    print(f"{args.config}: config valid, template passes cfn-lint")
    return 0


def _package(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.packaging import build_package

    bundle = build_package(load_config(args.config))
    target = args.output_dir / bundle.key
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bundle.data)
    print(target)
    return 0


def _run(args: argparse.Namespace) -> int:
    from etlgen.local.cli import run_command

    return run_command(args)


def _graph(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.graph import to_mermaid
    from etlgen.render import state_machine_definition

    sys.stdout.write(to_mermaid(state_machine_definition(load_config(args.config))))
    return 0


_COMMANDS = {
    "render": _render,
    "validate": _validate,
    "package": _package,
    "run": _run,
    "graph": _graph,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except EtlgenError as error:
        print(f"etlgen: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("etlgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
