"""`python -m app …` is the same command line as the installed `rnet` script."""

from app.cli import main

raise SystemExit(main())
