"""``python -m leadkit`` is the ``leadkit`` command."""

from leadkit.cli import main

main()
