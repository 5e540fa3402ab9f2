"""Rendering engines: Helm and kustomize run on untrusted chart and overlay files.

I/O lives here and nowhere in the core: each engine writes only the files it is given into a
private temporary directory (regular files, no path escaping it), runs the engine in a child
process with a time limit, a memory and an output cap, and no network, and turns the engine's
refusal into `workers.core.renders.RenderFailed` with its own message, free of this machine's
paths. The core receives engines as `Render` functions (workers.core.renders.Renderers). May
import core, config and runtime; the core never imports it.
"""
