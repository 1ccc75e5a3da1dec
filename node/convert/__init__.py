"""Converters named by direction: from_as, to_as, to_api, and HTML handling."""
