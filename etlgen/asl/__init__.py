"""An engine for the Amazon States Language: checks a definition up front, interprets it
the way Step Functions does, and draws it as a Mermaid flowchart.

Generic on purpose: it knows nothing of etlgen. Task resources go to an injected invoker
(`etlgen.local` binds them to the handlers and local back ends).
"""

from etlgen.asl.check import check_definition
from etlgen.asl.errors import DefinitionError, StatesError
from etlgen.asl.graph import to_mermaid
from etlgen.asl.interpreter import ExecutionResult, Interpreter, Options, TaskCall, TaskInvoker

__all__ = ["DefinitionError", "ExecutionResult", "Interpreter", "Options", "StatesError",
           "TaskCall", "TaskInvoker", "check_definition", "to_mermaid"]
