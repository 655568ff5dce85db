"""Entrypoints through which departments' systems answer over the bus (filled by the integration work)."""


class DepartmentCommands:
    pass
