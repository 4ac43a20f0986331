"""Where the project and the optional shared material are, for tests at any depth."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "asyncapi"  # absent in a user's own clone: those tests skip
DEMO = ROOT / "resources" / "scenarios" / "household.yaml"
SCENARIOS = ROOT / "resources" / "scenarios"
