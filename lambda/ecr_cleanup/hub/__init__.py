"""The organization shape's hub: its handlers (plan, scan, keep-sets, clean item, summary)
and the organization's own calls. It reuses the core (cleanup, decide, the in-use sources)
and never imports the single-shape handler module."""
