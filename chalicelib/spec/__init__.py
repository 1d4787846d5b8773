"""The spec: its model (types only), loader, rules and the stage's fence; one-way imports."""
