"""Legacy import paths of PtychoPINN: ``ptycho.params`` and ``ptycho.config.config``.

Nothing is imported here, so ``import ptycho.params`` stays fast.
"""
