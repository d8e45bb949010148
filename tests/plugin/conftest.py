"""The sample repository is copied into pytester folders, never collected in place.

PyYAML and vcrpy are imported here, before any in-process pytester run: pytester unloads the
modules first imported inside a run, and a re-imported PyYAML no longer matches its C
extension, which breaks every later cassette load in this process (other test files included).
"""

import vcr  # noqa: F401
import yaml  # noqa: F401

collect_ignore = ["sample_repo", "harvest_sample"]
