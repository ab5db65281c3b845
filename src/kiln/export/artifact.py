"""`ExportedArtifact`: what `kiln.export.load` returns."""


class ExportedArtifact:
    """A loaded export artifact: endpoints are methods, variable collections attributes.

    Calling the artifact itself runs its default endpoint (`serve` when present).

    Example:
        >>> artifact = kiln.export.load("exported_model")
        >>> artifact.serve(x)            # or artifact(x)
        >>> artifact.endpoints
        {'serve': <Endpoint serve(args_0: float32 Tensor, shape=(None, 16)) -> ...>}
    """

    def __init__(self, path, manifest, endpoints, collections):
        self.path = path
        self.manifest = manifest
        self.endpoints = dict(endpoints)
        self.variable_collections = dict(collections)
        self.default_endpoint = manifest.get("default_endpoint") or next(iter(endpoints))
        for name, endpoint in endpoints.items():
            setattr(self, name, endpoint)
        for name, tensors in collections.items():
            setattr(self, name, tensors)

    @property
    def signatures(self):
        """`{endpoint name: signature text}`."""
        return {name: e.signature for name, e in self.endpoints.items()}

    def __call__(self, *args, **kwargs):
        return self.endpoints[self.default_endpoint](*args, **kwargs)

    def __repr__(self):
        return (f"<ExportedArtifact path={self.path!r}, endpoints={list(self.endpoints)}, "
                f"variable_collections={list(self.variable_collections)}>")
