"""The character NER head shipped with credgate (ONNX graph, vocabulary, thresholds, model card)."""
