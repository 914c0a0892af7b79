"""Asterisk Manager Interface: wire framing, event correlation, the pyst2-based client."""
