"""Example stand-in: writes ``$text`` to stdout (``$stderr`` to stderr); if the script reads
``$input``, copies stdin to stdout until the client ends it; ``$exit`` is the exit code.

Script shape::

    # hatchway-standin: echo
    $text = 'hello'
    $exit = 0
    Write-Output $text
    foreach ($line in $input) { Write-Output $line }
    exit $exit
"""
from . import StandinContext, standin


@standin("echo")
def echo(ctx: StandinContext) -> int:
    text = ctx.args.get("text")
    if text is not None:
        ctx.stdout.write(f"{text}\r\n".encode("utf-8"))
    if ctx.args.get("stderr"):
        ctx.stderr.write(f"{ctx.args['stderr']}\r\n".encode("utf-8"))
    if "$input" in ctx.script.lower():
        while True:
            chunk = ctx.stdin.read(65536)
            if not chunk:
                break
            ctx.stdout.write(chunk)
    return int(ctx.args.get("exit", 0))
