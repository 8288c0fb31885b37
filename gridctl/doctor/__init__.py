"""gridctl doctor: the flow, the diagnosis, the support report."""
