"""Refit the GPU templates' calibration on the shared operator measurements.

Usage: python scripts/calibrate.py [--write]   (same as `ador calibrate [--write]`)
"""

import sys

from ador.cli.main import main

if __name__ == "__main__":
    main(["calibrate", *sys.argv[1:]])
