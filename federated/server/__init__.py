"""Server side of a federated run: phases, secure aggregation, results and model publication."""
