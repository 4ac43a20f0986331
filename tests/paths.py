"""Where the project, its test fixtures and the optional shared material are, for tests at any depth."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ASYNCAPI_FIXTURES = FIXTURES / "asyncapi"  # EventDeck's own AsyncAPI 2.6 and 3.0 test documents
# The shared AsyncAPI corpus beside the project: absent in a user's own clone, where the tests over it
# (the "corpus extras") skip; everything they check is also checked on the fixtures above.
CORPUS = ROOT.parent / "shared" / "corpus" / "asyncapi"
DEMO = ROOT / "resources" / "scenarios" / "household.yaml"
SCENARIOS = ROOT / "resources" / "scenarios"
