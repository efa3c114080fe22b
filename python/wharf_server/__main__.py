"""`python -m wharf_server ARGS` runs `wharf ARGS`."""

from wharf_server import main

main()
