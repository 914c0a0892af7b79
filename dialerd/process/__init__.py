"""Process plumbing: systemd notify/watchdog, signals, heartbeat, metrics."""
