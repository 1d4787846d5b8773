"""Berth's decisions: values in, values out. No AWS, no clock, no store: each is unit-tested
table by table, and the flows carry out what they return."""
