"""A helper two imports below the workflow module (greet -> mid -> deep)."""


def shout(text: str) -> str:
    return text.upper() + "!"
