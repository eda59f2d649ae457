"""The state machine `etlgen run` interprets: the definition the template deploys
(`workflow.state_machine_definition`), each substitution bound to its local target as
`integrations.state_machine_from_template` binds the rendered template's, without
rendering the template (troposphere and every other resource cost a small run a tenth of
a second or more). A test checks both give the same state machine.
"""

from __future__ import annotations

from etlgen.local.integrations import (
    LOCAL_PSEUDO_PARAMETERS,
    LocalResources,
    StateMachineSpec,
    checked_state_machine,
    lambda_arn,
    topic_arn,
)
from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.workflow import (
    ALERT_TOPIC_SUBSTITUTION,
    INTEGRATIONS,
    STATUS_TABLE_SUBSTITUTION,
    definition_substitution_names,
    state_machine_definition,
)


def local_state_machine(config: PipelineConfig) -> StateMachineSpec:
    """The pipeline's state machine with local ARNs: functions by their handler module, the
    status table and the alert topic by their logical ids."""
    local = LocalResources()
    available: dict[str, str] = {}
    for spec in FUNCTIONS.values():
        arn = lambda_arn(names.function_id(spec.name))
        local.lambdas[arn] = spec.handler_module
        available[spec.substitution] = arn
    local.tables[names.STATUS_TABLE] = names.STATUS_TABLE
    available[STATUS_TABLE_SUBSTITUTION] = names.STATUS_TABLE
    partition = LOCAL_PSEUDO_PARAMETERS["AWS::Partition"]
    available.update({name: f"arn:{partition}:states:::{integration}"
                      for name, integration in INTEGRATIONS.items()})
    if config.alerts.enabled:
        arn = topic_arn(names.ALERT_TOPIC)
        local.topics[arn] = names.ALERT_TOPIC
        available[ALERT_TOPIC_SUBSTITUTION] = arn
    local.substitutions = {name: available[name]
                           for name in definition_substitution_names(config)}
    return checked_state_machine(names.STATE_MACHINE, state_machine_definition(config), local)
