"""Passed through into the sandbox (``imports_passed_through``): loaded once by the host."""

from vc_flows.pt_deep import SUFFIX


def tag(name: str) -> str:
    return name + SUFFIX
