"""The Step Functions state machine resource and its log group.

The definition stays a JSON object (`Definition`), not a string: cfn-lint then checks the
states (E3601), and the task ARNs (functions and the partition's service integrations)
come in through `DefinitionSubstitutions`.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.logs import LogGroup
from troposphere.stepfunctions import (
    CloudWatchLogsLogGroup,
    LogDestination,
    LoggingConfiguration,
    StateMachine,
    TracingConfiguration,
)

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.tags import resource_tags
from etlgen.template.workflow import (
    INTEGRATIONS,
    definition_substitution_names,
    state_machine_definition,
)


def definition_substitutions(config: PipelineConfig) -> dict[str, object]:
    """Exactly the `${...}` names the definition uses, each bound to its resource."""
    available: dict[str, object] = {
        **{spec.substitution: names.function_arn(spec.name) for spec in FUNCTIONS.values()},
        "StatusTableName": Ref(names.STATUS_TABLE),
        **{name: Sub(f"arn:${{AWS::Partition}}:states:::{integration}")
           for name, integration in INTEGRATIONS.items()},
    }
    if config.alerts.enabled:
        available["AlertTopicArn"] = Ref(names.ALERT_TOPIC)
    wanted = definition_substitution_names(config)
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ValueError(f"no template value for definition substitution(s) {unknown}")
    return {name: available[name] for name in wanted}


def add_state_machine(template: Template, config: PipelineConfig) -> None:
    template.add_resource(LogGroup(
        names.STATE_MACHINE_LOG_GROUP,
        DeletionPolicy="Delete",  # as the functions' log groups, see there
        UpdateReplacePolicy="Delete",
        LogGroupName=Sub(names.state_machine_log_group_name_text(config)),
        RetentionInDays=config.retention.log_retention_days,
        Tags=resource_tags(config),
    ))
    template.add_resource(StateMachine(
        names.STATE_MACHINE,
        StateMachineName=Sub(names.state_machine_name_text(config)),
        StateMachineType="STANDARD",
        Definition=state_machine_definition(config),
        DefinitionSubstitutions=definition_substitutions(config),
        RoleArn=GetAtt(names.STATE_MACHINE_ROLE, "Arn"),
        TracingConfiguration=TracingConfiguration(Enabled=True),
        # ERROR without execution data: failures are visible, row data never reaches logs.
        LoggingConfiguration=LoggingConfiguration(
            Level="ERROR",
            IncludeExecutionData=False,
            Destinations=[LogDestination(CloudWatchLogsLogGroup=CloudWatchLogsLogGroup(
                LogGroupArn=GetAtt(names.STATE_MACHINE_LOG_GROUP, "Arn")
            ))],
        ),
        Tags=resource_tags(config),
    ))
