"""Drop-in modules for PtychoPINN's PyTorch configuration modules.

A project switches with one import line per module: ``ptycho_torch.config_params`` becomes
``ptycho_config.compat.config_params`` (likewise ``config_factory``, ``config_bridge`` and
``object_compatibility``). The classes here are mutable and check as the reference does
(first problem, plain ``ValueError``/``TypeError``); every default and rule comes from the
library's schemas. Nothing in the library imports this package.
"""
