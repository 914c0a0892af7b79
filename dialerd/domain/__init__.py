"""The pure core: rules of the domain, free of I/O (no database, sockets, clocks or logging)."""
