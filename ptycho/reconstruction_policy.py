"""PtychoPINN's training-assembly record; it lives with the object compatibility records."""

from ptycho.object_compatibility import TrainingAssemblySpec, resolve_training_assembly_spec

__all__ = ["TrainingAssemblySpec", "resolve_training_assembly_spec"]
