__version__ = "0.1.0"
AGENT = f"modelgate-python/{__version__}"
