"""Unit tests, one file per module (a package: basenames repeat in functional/)."""
