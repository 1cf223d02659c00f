"""interpcli's C core. The extension module `_interpcli` here holds the process-wide
registry of interpreters and channels; `interpcli._lowlevel` is the one place that loads it."""
