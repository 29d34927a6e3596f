"""Deal Brain's own tables, which the pipeline reads and writes but does not compute: the group
`deal_brain`, external assets at the head of the lineage."""
