"""``python -m leadkit.systems.realgeeks.sandbox``: run the sandbox from a shell."""

from leadkit.systems.realgeeks.sandbox.simulator import main

main()
