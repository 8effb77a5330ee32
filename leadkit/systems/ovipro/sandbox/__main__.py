"""``python -m leadkit.systems.ovipro.sandbox``: run the sandbox from a shell."""

from leadkit.systems.ovipro.sandbox.simulator import main

main()
