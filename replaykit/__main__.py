"""``python -m replaykit``: the ``replaykit`` command line (for environments without the script)."""

from replaykit.cli import run

if __name__ == "__main__":
    run()
