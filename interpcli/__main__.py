"""`python -m interpcli` is `interp`."""

from interpcli.cli import main

if __name__ == "__main__":
    main()
