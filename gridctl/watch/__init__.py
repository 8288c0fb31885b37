"""Beyond one call: repeated probes (`gridctl watch`), their statistics, the Prometheus exporter."""
