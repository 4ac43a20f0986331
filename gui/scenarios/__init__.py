"""Scenario widgets: the start page, a story's steps and caption, faults, and the simulation's speed.

Each widget takes plain inputs and reports what the user asks for through signals; the main
window and the presenter wire them to the simulation.
"""
