"""The node's features, one module each; the API and the inbox handlers both call these."""
