"""Deal Brain's application database: its schema, the demo catalogue, and the pipeline's reads and writes."""
