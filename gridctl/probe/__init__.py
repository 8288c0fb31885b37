"""The network steps. Everything here goes through probe.client.Net."""
