"""Reaching the state's source systems: the connector framework, declarative mappings and
one adapter per national system. Never imports ``app``. See docs/contracts.md sections 4-6.

Import from the modules: ``connectors.base`` (config, HttpConnector, errors),
``connectors.mapping`` (compile_mapping) and ``connectors.systems`` (the adapters).
"""
