"""``python -m connectors.mocks population --port 9101``."""

from connectors.mocks.cli import main

main()
