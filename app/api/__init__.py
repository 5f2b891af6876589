"""Thin routers: parse, call a service, reply."""
