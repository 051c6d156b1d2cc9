"""cudaenv: environments where TensorFlow and spaCy really use the NVIDIA GPU."""

__all__ = ["__version__"]

__version__ = "0.1.0"
