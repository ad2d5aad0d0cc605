"""The measurements: one module each, declaring its samplers, parsers, tables and figures.

``registry`` collects the modules' declarations; ``base`` is what they
declare with, ``parsing`` and ``summarizing`` the helpers they share, and
``pipeline`` joins the frames that several measurements logged.
"""
