"""The data contract: codes, schemas, loading, validation and the synthetic generator."""
