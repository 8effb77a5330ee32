"""The leadkit dashboard: ``streamlit run dashboards/app.py`` (or ``leadkit dashboard``).

The app lives in the package (:mod:`leadkit.dashboard`) so an installed leadkit can start
it; this file is the same script for people who prefer ``streamlit run``.
"""

from leadkit.dashboard.app import main

main()
