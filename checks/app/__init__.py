"""The drivers: the `cleancrm` command, the scheduler, alerts, reports, progress and worklist exports.

They call the engine and the history store; nothing else in `checks/` imports them (an import
contract in pyproject.toml keeps it so).
"""
