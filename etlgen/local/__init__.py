"""Run the generated state machine on this machine: interpreter, local back ends, `etlgen run`."""
