"""Notification content: one message per outcome, text for people and versioned JSON for machines.

Building a message is pure; `adapters.sns.Notifier` only sends what `envelope.sns_message`
returns. `envelope` is the document every message is; `deployments` (a record's news, external
deployments, ignored pushes), `alerts` (warnings and retirements) and `runs` (a wide run's start
and summary) build them.
"""
