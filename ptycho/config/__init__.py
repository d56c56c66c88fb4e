"""The legacy ``ptycho.config`` package; its API lives in :mod:`ptycho.config.config`."""
