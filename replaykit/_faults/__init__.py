"""Fault injection: kill real workers and servers, fail and time out activities, verify."""
