"""An engine for the Amazon States Language: checks a definition up front, interprets it
the way Step Functions does, and draws it as a Mermaid flowchart.

Generic on purpose: it imports nothing of etlgen outside this package. Task resources go
to an injected invoker (`etlgen.local` binds them to the handlers and local back ends).
State types come from one table, `etlgen.asl.states.STATE_TYPES`.
"""

from etlgen.asl.check import check_definition
from etlgen.asl.engine import Options, StateType, TaskCall, TaskInvoker
from etlgen.asl.errors import DefinitionError, StatesError
from etlgen.asl.graph import to_mermaid
from etlgen.asl.interpreter import ExecutionResult, Interpreter
from etlgen.asl.states import STATE_TYPES

__all__ = ["STATE_TYPES", "DefinitionError", "ExecutionResult", "Interpreter", "Options",
           "StateType", "StatesError", "TaskCall", "TaskInvoker", "check_definition",
           "to_mermaid"]
