"""News brief and Q&A assistant: answers that cite the exact sentences they rest on."""

__version__ = "0.1.0"
