"""The legacy bridge: the reference's flat ``params.cfg`` dict."""
