"""The PyTorch bridge: backend config objects and runtime objects (torch imported lazily)."""
