"""The helper the workflow imports; it imports the deeper one."""

from vc_flows import deep


def greeting(name: str) -> str:
    return deep.shout(f"hello {name}")
