"""The end-to-end demonstration behind ``make demo``: a whole consortium on loopback."""
