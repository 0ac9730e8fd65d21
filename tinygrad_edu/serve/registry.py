"""Run folders loaded once, each served as one model named after its folder."""
import os
import time
from dataclasses import dataclass, field

#: endpoint family of each kind of run
KIND_OF_RUN = {"gpt": "completion", "image": "image", "mlp": "image"}
ENDPOINTS = {"completion": "/v1/completions", "classify": "/v1/classify", "ner": "/v1/ner",
             "image": "/v1/images/classify"}


class RegistryError(ValueError):
    """A run folder that cannot be served (one line, naming it)."""


@dataclass
class ServedModel:
    """One run behind the API: ``name`` (what requests put in ``model``), ``kind`` (``completion``,
    ``classify``, ``ner`` or ``image``), the loaded ``run`` (``training.restore.Run``) and when it was
    loaded (``created``, Unix seconds, as OpenAI's ``/v1/models`` reports it)."""
    name: str
    kind: str
    run: object
    path: str
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def endpoint(self):
        return ENDPOINTS[self.kind]

    def describe(self):
        """The ``/v1/models`` entry: OpenAI's fields, plus which endpoint serves it."""
        info = {"id": self.name, "object": "model", "created": self.created, "owned_by": "tinygrad_edu",
                "kind": self.kind, "endpoint": self.endpoint}
        run = self.run
        if self.kind == "completion":
            info["context_length"] = int(run.model.config.block_size)
        if self.kind in ("classify", "ner", "image"):
            info["labels"] = list(run.classes)
        return info


def kind_of(run, path):
    if run.kind in KIND_OF_RUN:
        return KIND_OF_RUN[run.kind]
    if run.kind == "finetune":
        return "classify" if run.task == "sst2" else "ner"
    raise RegistryError(f"RUN {path}: a {run.kind} run cannot be served; serve GPT runs (completions), "
                        "SST-2 and NER fine-tunes (classify, ner) and image runs (images/classify)")


def load_models(paths, names=None):
    """``{name: ServedModel}`` for the run folders ``paths`` (names: the folders' base names, or
    ``names`` given one per path)."""
    from ..training.restore import load_run
    from ..training.run_folder import RunFolderError
    if names is not None and len(names) != len(paths):
        raise RegistryError(f"--name: {len(names)} names for {len(paths)} runs; give one per RUN or none")
    models = {}
    for i, path in enumerate(paths):
        name = names[i] if names else os.path.basename(os.path.normpath(path))
        if os.path.isfile(path) and not names:
            name = os.path.basename(os.path.dirname(os.path.abspath(path))) or name
        if name in models:
            raise RegistryError(f"RUN {path}: two runs are both called {name!r}; name them with --name")
        if not os.path.exists(path):
            raise RegistryError(f"RUN {path}: no such run folder or checkpoint file")
        try:
            run = load_run(path, option="RUN")
        except RunFolderError as exc:
            raise RegistryError(str(exc)) from None
        run.model.eval()
        models[name] = ServedModel(name, kind_of(run, path), run, path)
    return models
