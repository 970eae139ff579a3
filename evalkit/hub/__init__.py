"""The multi-user set-up: JupyterHub for a workspace (see docs/operators.md)."""
