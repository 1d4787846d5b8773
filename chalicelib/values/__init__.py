"""Values Berth keeps and tells: records, outcomes, events, notifications content, tags and
triggers. Pure: nothing here imports the spec, rendering, decisions or AWS."""
