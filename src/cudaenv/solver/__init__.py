"""The solver: turns a request and a machine into a resolution, using the package index client."""
