"""The top: the command line, `cadence check`, the daemon and its systemd and terminal plumbing."""
