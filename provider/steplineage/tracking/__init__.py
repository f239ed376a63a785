"""Tracking a live step: the execution, its staging in and out, heartbeat and guard."""
