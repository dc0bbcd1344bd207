"""The records-request steps' parts, one module per stage of the procedure (mixed into the flow class)."""
