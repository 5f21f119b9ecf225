"""`sovnet generate`: national networks from a few numbers (params), as topology files."""

from sovnet.generate.network import Network, generate
from sovnet.generate.params import PRESETS, GenerateError, Params, preset
from sovnet.generate.yamltext import topology_text

__all__ = ["PRESETS", "GenerateError", "Network", "Params", "generate", "preset",
           "topology_text"]
