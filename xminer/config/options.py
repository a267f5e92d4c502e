"""XMRig's command line read by click, from the option table in xminer.config.option_table.

click reads argv (``--name=value``, ``--name value``, ``-t 2``, ``-t2``, clustered short flags,
``--`` ending the options), runs each option's check from the table, and prints ``--help`` in
XMRig's groups.  Every problem becomes one :class:`OptionError` naming the option, never click's
multi-line usage message; cli.py prints it as ``xminer: --threads: "abc": expected ...``.
"""

from __future__ import annotations

from typing import Any

import click

from xminer.config.errors import show
from xminer.config.option_table import (
    TABLE,
    CliOption,
    Convert,
    OptionError,
    Overrides,
    Parsed,
    Table,
    apply,
)

__all__ = [
    "TABLE",
    "CliOption",
    "OptionError",
    "Overrides",
    "Parsed",
    "Table",
    "apply",
    "command_for",
    "help_text",
    "parse_argv",
]

ORDER = "xminer.option_order"  # ctx.meta key: every option occurrence, in command-line order


class Checked(click.ParamType):
    """A table check as a click type; its ValueError becomes click's BadParameter carrying the
    table's own text (``"abc": expected an integer 1..1024``)."""

    name = "value"

    def __init__(self, check: Convert) -> None:
        self.check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.check(value)
        except ValueError as exc:
            self.fail(f"{show(value)}: {exc}", param, ctx)


def param_name(opt: CliOption) -> str:
    return opt.long.removeprefix("--").replace("-", "_")


def click_option(opt: CliOption) -> click.Option:
    """Flags count their occurrences, value options collect every value: each occurrence is
    replayed in order (a repeated ``-k`` after each ``-o`` marks each of those pools)."""
    decls = [param_name(opt), *opt.names]
    if opt.convert is None:
        return click.Option(decls, count=True)
    return click.Option(decls, type=Checked(opt.convert), multiple=True)


class XmrigCommand(click.Command):
    """The whole command line as one click command built from a :class:`Table`."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.by_param = {param_name(opt): opt for opt in table.options}
        assert len(self.by_param) == len(table.options), "two options share a name"
        super().__init__(
            None,
            params=[click_option(opt) for opt in table.options],
            add_help_option=False,  # -h/--help is a table option, answered by cli.py
            context_settings={"allow_extra_args": True},  # leftovers: our one-line error
        )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # XMRig applies options in the order given (pool options go to the last -o), while
        # click groups each option's values.  click's parser does report every occurrence in
        # command-line order (the "order" its parse_args returns, one entry per occurrence),
        # but Command.parse_args uses it only to order the processing and drops it; no hook
        # receives it.  So read the order with the same parser (public make_parser, on a copy:
        # it consumes the list) and keep it in ctx.meta, then let click convert and check as
        # always.  ctx.params then holds each option's values in order: zipping them with the
        # recorded order gives the command line back as written (see in_order).
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        ctx.meta[ORDER] = order
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """XMRig's sections (Network:, CPU backend:, ... Misc:) instead of one "Options:"."""
        rows = [help_row(opt) for opt in self.table.options]
        width = max(len(head) for head, _ in rows)  # one column for all sections, as XMRig
        for group, options in grouped(self.table):
            with formatter.section(group):
                formatter.write_dl([(h.ljust(width), t) for h, t in map(help_row, options)])


def grouped(table: Table) -> list[tuple[str, list[CliOption]]]:
    groups: dict[str, list[CliOption]] = {}
    for opt in table.options:
        groups.setdefault(opt.group, []).append(opt)
    return list(groups.items())


def help_row(opt: CliOption) -> tuple[str, str]:
    """XMRig's look: ``-o, --url=URL`` with long-only options lined up under the long names."""
    shorts = [n for n in opt.names if not n.startswith("--")]
    longs = [n for n in opt.names if n.startswith("--")]
    head = (shorts[0] + ", " if shorts else "    ") + longs[0]
    if opt.convert is not None:
        head += f"={opt.metavar}"
    note = "" if opt.implemented else " (accepted, not implemented)"
    return head, opt.help + note


COMMAND = XmrigCommand(TABLE)


def command_for(table: Table) -> XmrigCommand:
    return COMMAND if table is TABLE else XmrigCommand(table)


def in_order(command: XmrigCommand, ctx: click.Context) -> Parsed:
    values = {name: iter(v) for name, v in ctx.params.items() if isinstance(v, tuple)}
    parsed = Parsed()
    for param in ctx.meta[ORDER]:
        opt = command.by_param[param.name]
        parsed.given.append((opt, True if opt.convert is None else next(values[param.name])))
    return parsed


def one_line(command: XmrigCommand, exc: click.UsageError) -> OptionError:
    """click's error as ours: ``--foo: no such option (see --help)``, ``--print-time: needs a
    value (N)``, ``--no-cpu: takes no value``, ``--threads: "abc": expected ...``."""
    index = command.table.index()
    if isinstance(exc, click.NoSuchOption):
        return OptionError(exc.option_name, "no such option (see --help)")
    if isinstance(exc, click.BadOptionUsage) and exc.option_name in index:
        opt = index[exc.option_name]
        if opt.convert is None:
            return OptionError(opt.long, "takes no value")
        return OptionError(opt.long, f"needs a value ({opt.metavar})")
    if isinstance(exc, click.BadParameter) and exc.param is not None and exc.param.name:
        return OptionError(command.by_param[exc.param.name].long, exc.message)
    return OptionError("command line", exc.message)


def parse_argv(argv: list[str], table: Table = TABLE) -> Parsed:
    """The options in the order given, each value checked; OptionError (one line) if bad."""
    command = command_for(table)
    try:
        ctx = command.make_context(None, list(argv))
    except click.UsageError as exc:
        raise one_line(command, exc) from None
    if ctx.args:
        raise OptionError(ctx.args[0], "unexpected argument (options start with - or --)")
    return in_order(command, ctx)


def help_text(prog: str, table: Table = TABLE) -> str:
    command = command_for(table)
    # XMRig's help is about 100 columns wide; a narrower terminal still wraps it
    ctx = click.Context(command, info_name=prog, max_content_width=100)
    return command.get_help(ctx) + "\n"
