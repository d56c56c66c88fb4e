"""Factories: payloads for training and inference scripts, snapshots, the example."""
