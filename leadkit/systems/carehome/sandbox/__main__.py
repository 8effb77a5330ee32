"""``python -m leadkit.systems.carehome.sandbox``: run the sandbox from a shell."""

from leadkit.systems.carehome.sandbox.simulator import main

main()
