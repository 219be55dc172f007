"""Templates: the model, its JSON front end, template functions and validation."""
from .json_format import load, loads
from .model import BuilderSection, PostProcessorSection, ProvisionerSection, Template, Variable

__all__ = ["load", "loads", "Template", "Variable", "BuilderSection", "ProvisionerSection", "PostProcessorSection"]
