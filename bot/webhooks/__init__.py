"""The webhook request path: verify, read the body, interpret the event, dedupe, enqueue.
Runs in the web process on every delivery; never imports forge clients or YAML machinery."""
