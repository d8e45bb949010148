"""Imported only inside a workflow method, at replay time."""


def twice(value: int) -> int:
    return value * 2
