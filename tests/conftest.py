"""Shared pytest configuration: the simulator fixture is available to every test."""

pytest_plugins = ["zoho_sim.pytest_plugin"]
