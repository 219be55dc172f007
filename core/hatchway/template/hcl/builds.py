"""HCL2 ``build`` blocks -> the model: one builder section per run, provisioners and post-processors per run.

A mixin of the loader (:class:`.frontend._Loader`): bodies are decoded with
``dynamic`` blocks expanded, each source used by a build becomes a run named
``BUILD.TYPE.NAME``, and each provisioner and post-processor is evaluated
with that run's ``source.*`` and ``build.*`` values (``build.Host``... are
"<unknown>" here and re-evaluated by ``late_options`` at run time).
"""
from __future__ import annotations

import functools
import typing
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple, Union

import attrs

from ..model import BuilderSection, PostProcessorSection, ProvisionerSection, Template
from . import values as V
from .ast import Attribute, Block, Body, Range, Variable, references
from .diagnostics import DiagnosticsError, did_you_mean
from .evaluate import FAILED as _ERR, EvalContext

__all__ = ["UNKNOWN_TEXT", "BUILD_KEYS"]

try:  # the one constant, where the JSON front end keeps it
    from ..functions import PACKER_VERSION  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before that constant existed
    #: The Packer version Hatchway declares itself compatible with (``packer.version``, ``required_version``).
    PACKER_VERSION = "1.16.0"

UNKNOWN_TEXT = "<unknown>"
#: ``build.*`` values: "<unknown>" while validating, the real ones at run time.
BUILD_KEYS = ("ID", "Host", "Port", "User", "Password", "ConnType", "PackerRunUUID", "PackerHTTPIP",
              "PackerHTTPPort", "PackerHTTPAddr", "SSHPublicKey", "SSHPrivateKey", "WinRMPassword")
PROVISIONER_META = {"only", "except", "override", "pause_before", "timeout", "max_retries", "continue_on_error",
                    "name"}
POST_PROCESSOR_META = {"only", "except", "keep_input_artifact", "name"}
BUILD_ATTRS = {"name", "description", "sources"}
BUILD_BLOCKS = {"source", "provisioner", "error-cleanup-provisioner", "post-processor", "post-processors",
                "hcp_packer_registry"}


def _clean(value: Any) -> Any:
    """Model options are plain natives: sets become lists, unknowns "<unknown>"."""
    if isinstance(value, V.Unknown):
        return UNKNOWN_TEXT
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _uses_build_values(body: Body) -> bool:
    for path, _ in references(body):
        if path[0] == "build" and len(path) > 1 and path[1] not in ("name", "type"):
            return True
    return False


def _set_error_cleanup(template: Template, prov: ProvisionerSection, run: str, loader: Any) -> None:
    """Store an error-cleanup-provisioner, in whichever field the model has for it."""
    for name in ("cleanup_provisioner", "error_cleanup_provisioners", "error_cleanup_provisioner"):
        if any(f.name == name for f in attrs.fields(Template)):
            current = getattr(template, name)
            if isinstance(current, list):
                current.append(prov)
            elif current is None:
                setattr(template, name, prov)
            elif current.path == prov.path:  # the same block for another run of the build
                current.only.append(run)
            else:
                loader.add("Too many error-cleanup-provisioners", "This Hatchway runs one error-cleanup-provisioner "
                           f"per template; the one at {current.path} is used.", loader.positions[prov.path][0],
                           severity="warning")
            return
    loader.add("Unsupported block type", "error-cleanup-provisioner is not supported by this Hatchway version.",
               loader.positions[prov.path][0], severity="warning")


def _where(body: Body, key: str) -> str:
    attr = body.attributes.get(key)
    return str(attr.name_range) if attr is not None else str(body.range)


@functools.lru_cache(maxsize=None)
def _list_fields(cls: Any) -> FrozenSet[str]:
    """Config fields whose type is a list (nested blocks become lists of objects there)."""
    if cls is None:
        return frozenset()
    from ...config import _hints

    out: Set[str] = set()
    try:
        hints = _hints(cls)
    except Exception:  # pragma: no cover - a plugin's odd annotations
        return frozenset()
    for name, tp in hints.items():
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union:
            inner = [a for a in args if a is not type(None)]
            origin = typing.get_origin(inner[0]) if len(inner) == 1 else None
        if origin in (list, tuple, Sequence) or tp in (list, tuple):
            out.add(name)
    return frozenset(out)


class _Builds:
    """Decoding bodies, sources and builds (mixed into the loader)."""

    # -- bodies and dynamic blocks ------------------------------------------------------
    def expand(self, body: Body, ctx: EvalContext) -> List[Tuple[Union[Attribute, Block], EvalContext]]:
        out: List[Tuple[Union[Attribute, Block], EvalContext]] = []
        for item in body.items:
            if isinstance(item, Block) and item.type == "dynamic":
                out.extend(self.dynamic(item, ctx))
            else:
                out.append((item, ctx))
        return out

    def dynamic(self, block: Block, ctx: EvalContext) -> List[Tuple[Block, EvalContext]]:
        if not self.labels_ok_named(block):
            return []
        btype = block.labels[0]
        body = block.body
        self.check_body(body, {"for_each", "iterator", "labels"}, {"content"})
        contents = [b for b in body.blocks if b.type == "content"]
        if len(contents) != 1:
            self.add("Missing content block" if not contents else "Duplicate content block",
                     "A dynamic block must have exactly one nested block of type \"content\".", block.range)
            return []
        content = contents[0]
        fe = body.attributes.get("for_each")
        if fe is None:
            self.add("Missing required argument", 'The argument "for_each" is required, but no definition was found.',
                     block.range)
            return []
        coll = self.eval(fe.expr, ctx)
        if coll is _ERR or isinstance(coll, V.Unknown):
            return []
        if coll is None:
            self.add("Invalid dynamic for_each value", "Cannot use a null value in for_each.", fe.expr.range)
            return []
        iterator = btype
        it_attr = body.attributes.get("iterator")
        if it_attr is not None:
            if isinstance(it_attr.expr, Variable):
                iterator = it_attr.expr.name
            else:
                self.add("Invalid dynamic iterator name", "Dynamic iterator must be a single variable name.",
                         it_attr.expr.range)
                return []
        if isinstance(coll, dict):
            pairs = [(k, coll[k]) for k in sorted(coll)]
        elif isinstance(coll, (list, tuple)):
            pairs = [(v, v) for v in coll] if isinstance(coll, V.SetValue) else list(enumerate(coll))
        else:
            self.add("Invalid dynamic for_each value",
                     f"Cannot use a {V.friendly_name(V.type_of(coll))} value in for_each. An iterable collection is "
                     "required.", fe.expr.range)
            return []
        out = []
        labels_attr = body.attributes.get("labels")
        for k, v in pairs:
            child = ctx.child({iterator: {"key": k, "value": v}})
            labels: List[str] = []
            if labels_attr is not None:
                value = self.eval(labels_attr.expr, child)
                if value is _ERR:
                    continue
                if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                    self.add("Invalid dynamic block labels", "The labels must be a list of strings.",
                             labels_attr.expr.range)
                    continue
                labels = list(value)
            out.append((Block(btype, labels, [block.label_ranges[0]] * len(labels), content.body, block.range,
                              block.type_range), child))
        return out

    def labels_ok_named(self, block: Block) -> bool:
        if len(block.labels) != 1:
            self.add("Invalid dynamic block", "A dynamic block needs one label: the type of the blocks it makes.",
                     block.range)
            return False
        return True

    def decode_body(self, body: Body, ctx: EvalContext, path: str, *, meta: Set[str] = frozenset(),  # type: ignore
                    skip_blocks: Set[str] = frozenset(), list_fields: Set[str] = frozenset()  # type: ignore
                    ) -> Dict[str, Any]:
        """Attributes evaluated and nested blocks as objects (lists where the field is a list)."""
        out: Dict[str, Any] = {}
        groups: Dict[str, List[Tuple[Block, EvalContext]]] = {}
        for item, ictx in self.expand(body, ctx):
            if isinstance(item, Attribute):
                if item.name in meta:
                    continue
                value = self.eval(item.expr, ictx)
                self.positions[f"{path}.{item.name}"] = (item.name_range, item.expr.range)
                if value is not _ERR:
                    out[item.name] = _clean(value)
                if value is _ERR or not V.is_known(value):  # unknown only after a reported error
                    self.failed.add(f"{path}.{item.name}")
            elif item.type not in skip_blocks:
                groups.setdefault(item.type, []).append((item, ictx))
        for btype, blocks in groups.items():
            values = []
            as_list = len(blocks) > 1 or btype in list_fields
            for i, (block, bctx) in enumerate(blocks):
                sub = f"{path}.{btype}[{i}]" if as_list else f"{path}.{btype}"
                self.positions[sub] = (block.type_range, block.range)
                values.append(self.decode_body(block.body, bctx, sub))
            self.positions.setdefault(f"{path}.{btype}", (blocks[0][0].type_range, blocks[0][0].range))
            out[btype] = values if as_list else values[0]
        return out

    # -- sources and builds -------------------------------------------------------------
    def component_cls(self, kind: str, name: str) -> Any:
        if self.plugins is None:
            return None
        reg = self.plugins.find(kind, name)
        return reg.cls.Config if reg is not None else None

    def builder_list_fields(self, btype: str) -> Set[str]:
        fields = set(_list_fields(self.component_cls("builder", btype)))
        if self.plugins is not None:
            for cname in self.plugins.names("communicator"):
                fields |= _list_fields(self.component_cls("communicator", cname))
        return fields

    def builds(self, template: Template, build_blocks: List[Block], sources: Dict[Tuple[str, str], Block],
               ctx: EvalContext) -> None:
        run_names: Dict[str, Range] = {}
        for bi, block in enumerate(build_blocks):
            body = block.body
            self.check_body(body, BUILD_ATTRS, BUILD_BLOCKS, allow_dynamic=True)
            build_name = ""
            if "name" in body.attributes:
                value = self.eval(body.attributes["name"].expr, ctx)
                if isinstance(value, str):
                    build_name = value
                elif value is not _ERR:
                    self.add("Incorrect attribute value type", 'Inappropriate value for attribute "name": a string '
                             "is required.", body.attributes["name"].expr.range)
            if "description" in body.attributes:
                value = self.eval(body.attributes["description"].expr, ctx)
                if isinstance(value, str) and not template.description:
                    template.description = value
            uses: List[Tuple[str, str, str, Optional[Block], Range]] = []  # type, name, alias, build-source block
            if "sources" in body.attributes:
                attr = body.attributes["sources"]
                value = self.eval(attr.expr, ctx)
                if value is not _ERR:
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        self.add("Incorrect attribute value type",
                                 'Inappropriate value for attribute "sources": a list of strings is required.',
                                 attr.expr.range)
                    else:
                        for ref in value:
                            found = self.source_ref(ref, sources, attr.expr.range)
                            if found:
                                uses.append((found[0], found[1], found[1], None, attr.expr.range))
            for sb in body.blocks:
                if sb.type != "source":
                    continue
                if len(sb.labels) != 1:
                    self.add("Invalid source block", 'A source block in a build takes one label: "source.TYPE.NAME".',
                             sb.range)
                    continue
                found = self.source_ref(sb.labels[0], sources, sb.label_ranges[0])
                if not found:
                    continue
                alias = found[1]
                if "name" in sb.body.attributes:
                    value = self.eval(sb.body.attributes["name"].expr, ctx)
                    if isinstance(value, str):
                        alias = value
                uses.append((found[0], found[1], alias, sb, sb.range))
            referred = "sources" in body.attributes or any(b.type == "source" for b in body.blocks)
            if not uses and not referred:
                self.add("Missing sources", "A build block must use at least one source: set sources = "
                         '["source.TYPE.NAME"] or add a source "source.TYPE.NAME" block.', block.range)
                continue
            for stype, sname, alias, sblock, use_range in uses:
                run = f"{build_name}.{stype}.{alias}" if build_name else f"{stype}.{alias}"
                if run in run_names:
                    self.add("Duplicate build", f"The build {run} is already defined at {run_names[run]}; give the "
                             "build blocks different names, or the sources different names.", use_range)
                    continue
                run_names[run] = use_range
                self.run(template, block, build_name, run, stype, sname, alias, sources[(stype, sname)], sblock, ctx)

    def source_ref(self, ref: str, sources: Dict[Tuple[str, str], Block], where: Range
                   ) -> Optional[Tuple[str, str]]:
        parts = ref.split(".")
        if len(parts) > 2:  # "source.TYPE.NAME" (Packer drops the first part, whatever it is)
            parts = parts[1:]
        if len(parts) != 2:
            self.add("Invalid source reference", f'A source is referred to as "source.TYPE.NAME", not "{ref}".', where)
            return None
        key = (parts[0], parts[1])
        if key not in sources:
            known = [f"source.{t}.{n}" for t, n in sources]
            self.add("Unknown source", f"Unknown source {ref}.{did_you_mean('source.' + '.'.join(parts), known)}",
                     where)
            return None
        return key

    def run(self, template: Template, build: Block, build_name: str, run: str, stype: str, sname: str, alias: str,
            source: Block, extra: Optional[Block], ctx: EvalContext) -> None:
        source_obj = {"name": alias, "type": stype}
        sctx = ctx.child({"source": source_obj})
        list_fields = self.builder_list_fields(stype)
        options = self.decode_body(source.body, sctx, run, list_fields=list_fields)
        self.positions[run] = (source.range, source.range)
        self.positions[f"{run}.type"] = (source.label_ranges[0], source.label_ranges[0])
        if extra is not None:
            added = self.decode_body(extra.body, sctx, run, meta={"name"}, list_fields=list_fields)
            for key, value in added.items():
                if key in options:
                    attr = extra.body.attributes.get(key)
                    self.add("Duplicate argument",
                             f'The argument "{key}" is already set in source "{stype}" "{sname}" '
                             f"({_where(source.body, key)}); a build's source block may only add arguments.",
                             attr.name_range if attr is not None else extra.range)
                    continue
                options[key] = value
        communicator = options.pop("communicator", None)
        if communicator is not None and not isinstance(communicator, str):
            self.add("Incorrect attribute value type", 'Inappropriate value for attribute "communicator": a string '
                     "is required.", source.range)
            communicator = None
        template.builders.append(BuilderSection(stype, run, run, communicator, options, packer_build_name=alias))
        build_obj = {"name": build_name, "type": stype, **{k: UNKNOWN_TEXT for k in BUILD_KEYS}}
        pctx = ctx.child({"source": source_obj, "build": build_obj})
        selector = f"{stype}.{alias}"
        for item, ictx in self.expand(build.body, pctx):
            if not isinstance(item, Block):
                continue
            if item.type == "provisioner":
                prov = self.provisioner(item, ictx, run, selector, alias)
                if prov is not None:
                    template.provisioners.append(prov)
            elif item.type == "error-cleanup-provisioner":
                prov = self.provisioner(item, ictx, run, selector, alias)
                if prov is not None:
                    _set_error_cleanup(template, prov, run, self)
            elif item.type == "post-processor":
                pp = self.post_processor(item, ictx, run, selector)
                if pp is not None:
                    template.post_processors.append([pp])
            elif item.type == "post-processors":
                self.check_body(item.body, set(), {"post-processor"}, allow_dynamic=True)
                chain = []
                for sub, sctx2 in self.expand(item.body, ictx):
                    if isinstance(sub, Block) and sub.type == "post-processor":
                        pp = self.post_processor(sub, sctx2, run, selector)
                        if pp is not None:
                            chain.append(pp)
                if chain:
                    template.post_processors.append(chain)

    def _only_except(self, body: Body, ctx: EvalContext, selector: str) -> Optional[bool]:
        """Does the block apply to this run? None when only/except are invalid."""
        lists = {}
        for key in ("only", "except"):
            attr = body.attributes.get(key)
            if attr is None:
                continue
            value = self.eval(attr.expr, ctx)
            if value is _ERR:
                return None
            if value is None:  # null: as if not set
                continue
            if isinstance(value, V.Unknown):
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.add("Incorrect attribute value type",
                         f'Inappropriate value for attribute "{key}": a list of strings is required.', attr.expr.range)
                return None
            lists[key] = value
        if "only" in lists and "except" in lists:
            self.add("Invalid only/except", "only and except cannot both be set on the same block.",
                     body.attributes["except"].name_range)
            return None
        if "only" in lists:
            return selector in lists["only"]
        if "except" in lists:
            return selector not in lists["except"]
        return True

    def _component(self, block: Block, ctx: EvalContext, selector: str, kind: str
                   ) -> Optional[Tuple[str, str, Any]]:
        """A provisioner or post-processor block that applies to this run: its type, its path (file:line,
        with the positions of the block and its type label recorded) and its config's list fields."""
        if not self.labels_ok(block, 1) or not self._only_except(block.body, ctx, selector):
            return None
        ptype = block.labels[0]
        path = f"{block.range.filename}:{block.range.start.line}"
        self.positions[path] = (block.range, block.range)
        self.positions[f"{path}.type"] = (block.label_ranges[0], block.label_ranges[0])
        return ptype, path, _list_fields(self.component_cls(kind, ptype))

    def provisioner(self, block: Block, ctx: EvalContext, run: str, selector: str, alias: str
                    ) -> Optional[ProvisionerSection]:
        start = self._component(block, ctx, selector, "provisioner")
        if start is None:
            return None
        ptype, path, list_fields = start

        def decode(c: EvalContext) -> Dict[str, Any]:
            opts = self.decode_body(block.body, c, path, meta=PROVISIONER_META, list_fields=list_fields)
            ov = block.body.attributes.get("override")
            if ov is not None:
                value = self.eval(ov.expr, c)
                if isinstance(value, dict):
                    extra = value.get(alias)
                    if isinstance(extra, dict):
                        opts.update(_clean(extra))
                elif value is not _ERR:
                    self.add("Incorrect attribute value type", 'Inappropriate value for attribute "override": an '
                             "object of source name = { argument = value } is required.", ov.expr.range)
            return opts

        options = decode(ctx)
        meta = {}
        for key in ("pause_before", "timeout", "max_retries", "continue_on_error"):
            attr = block.body.attributes.get(key)
            if attr is not None:
                self.positions[f"{path}.{key}"] = (attr.name_range, attr.expr.range)
                value = self.eval(attr.expr, ctx)
                if value is not _ERR:
                    meta[key] = _clean(value)
        section = ProvisionerSection(type=ptype, path=path, options=options, only=[run],
                                     pause_before=meta.get("pause_before"), max_retries=meta.get("max_retries"),
                                     timeout=meta.get("timeout"), continue_on_error=meta.get("continue_on_error"))
        if _uses_build_values(block.body) :
            section.late_options = self._late(decode, ctx)
        return section

    def post_processor(self, block: Block, ctx: EvalContext, run: str, selector: str
                       ) -> Optional[PostProcessorSection]:
        start = self._component(block, ctx, selector, "post-processor")
        if start is None:
            return None
        ptype, path, list_fields = start

        def decode(c: EvalContext) -> Dict[str, Any]:
            return self.decode_body(block.body, c, path, meta=POST_PROCESSOR_META, list_fields=list_fields)

        options = decode(ctx)
        keep = False
        attr = block.body.attributes.get("keep_input_artifact")
        if attr is not None:
            value = self.eval(attr.expr, ctx)
            if isinstance(value, bool):
                keep = value
            elif value is not _ERR:
                self.add("Incorrect attribute value type", 'Inappropriate value for attribute "keep_input_artifact": '
                         "a bool is required.", attr.expr.range)
        name_attr = block.body.attributes.get("name")
        if name_attr is not None:
            value = self.eval(name_attr.expr, ctx)
            if isinstance(value, str):
                self.pp_names[path] = value
        section = PostProcessorSection(type=ptype, path=path, options=options, only=[run], keep_input_artifact=keep)
        if _uses_build_values(block.body) :
            section.late_options = self._late(decode, ctx)
        return section

    def _late(self, decode: Callable[[EvalContext], Dict[str, Any]], ctx: EvalContext
              ) -> Callable[[Mapping[str, Any]], Dict[str, Any]]:
        """Re-evaluate a block with the real ``build.*`` values (called by the runner)."""

        def late_options(build_values: Mapping[str, Any]) -> Dict[str, Any]:
            found, build_obj = ctx.lookup("build")
            real = dict(build_obj if found and isinstance(build_obj, dict) else {})
            real.update({k: ("" if v is None else v if isinstance(v, (str, int, float, bool)) else str(v))
                         for k, v in build_values.items()})
            with self.late_lock:  # builds run in threads; the loader's lists are shared
                before = len(self.diags)
                options = decode(ctx.child({"build": real}))
                new = self.diags[before:]
                del self.diags[before:]
            errors = [d for d in new if d.is_error]
            if errors:
                raise DiagnosticsError(errors)
            return options

        return late_options
