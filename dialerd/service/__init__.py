"""The service layer: systemd notify/watchdog, signals, metrics, heartbeat, operator control."""
