"""The state-type table: every state type the engine checks, runs and draws, by `Type`.

Adding a type is one module here (a `StateType` with its fields and run function per query
language) and one line in `STATE_TYPES`; the checker, the interpreter and the graph read
only this table.
"""

from __future__ import annotations

from etlgen.asl.engine import StateType
from etlgen.asl.states.choice_state import CHOICE
from etlgen.asl.states.fail_state import FAIL
from etlgen.asl.states.map_state import MAP
from etlgen.asl.states.pass_state import PASS
from etlgen.asl.states.succeed_state import SUCCEED
from etlgen.asl.states.task_state import TASK
from etlgen.asl.states.wait_state import WAIT

STATE_TYPES: dict[str, StateType] = {
    state_type.name: state_type
    for state_type in (PASS, TASK, MAP, CHOICE, SUCCEED, FAIL, WAIT)
}
