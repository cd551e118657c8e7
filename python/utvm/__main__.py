"""Allow ``python -m utvm``."""

from utvm.cli import main

raise SystemExit(main())
