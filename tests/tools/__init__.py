"""Test tools: a wheel builder and a real package index on 127.0.0.1 (see ``fixtures``)."""
