"""``python -m leadkit.systems.dialler.sandbox``: run the sandbox from a shell."""

from leadkit.systems.dialler.sandbox.simulator import main

main()
