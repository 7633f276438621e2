"""Generated protobuf code for the ``modelgate.v1`` schema (see ``proto/generate.sh``)."""
