"""The Avro event model: one .avsc per record, Python mirrors, the codec, compatibility checks."""
