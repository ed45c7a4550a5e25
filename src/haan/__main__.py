import sys

from haan.cli import main

sys.exit(main())
