"""`coe llm …`: the optional answer model (COE_LLM_*)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="The optional model that writes answers (COE_LLM_* settings).")
out = Console()
err = Console(stderr=True)


@app.command()
def check(
    model: Annotated[
        str | None, typer.Option("--model", help="Model to try [default: COE_LLM_MODEL]")
    ] = None,
) -> None:
    """Checks that the endpoint answers, serves the model, and follows the answer format."""
    from bot.answering.grounded import NOT_IN_SOURCES
    from bot.answering.llm import ModelUnavailable
    from bot.answering.written import writer_from
    from bot.settings import load_settings

    settings = load_settings()
    if model:
        settings.llm_model = model
    if not settings.llm_configured:
        err.print(
            "[yellow]No model configured:[/yellow] answers are quotes from the knowledge base. "
            "Set COE_LLM_BASE_URL and COE_LLM_MODEL to have a model write them."
        )
        raise typer.Exit(1)
    writer = writer_from(settings)
    assert writer is not None
    chat = writer.model
    out.print(f"Endpoint [bold]{escape(chat.config.base_url)}[/bold]")
    problems = 0
    try:
        served = chat.list_models()
        if chat.name in served:
            out.print(f"[green]✓[/green] serves {escape(chat.name)}")
        else:
            listed = ", ".join(served[:8]) or "none"
            out.print(
                f"[yellow]?[/yellow] {escape(chat.name)} is not in the model list ({escape(listed)}); "
                "some servers (Azure deployments) do not list it, so trying it anyway"
            )
    except Exception as error:
        out.print(f"[yellow]?[/yellow] could not list models: {escape(str(error)[:200])}")
    messages = [
        {
            "role": "system",
            "content": "Answer only from the sources, citing them like [1]. If they do not "
            f"answer, reply exactly {NOT_IN_SOURCES}.\n\nSources:\n\n[1] The CoE office hours "
            "are on Tuesdays at 10:00.",
        },
        {"role": "user", "content": "When are the CoE office hours?"},
    ]
    started = time.perf_counter()
    try:
        text, usage = chat.complete(messages, time.monotonic() + settings.llm_timeout_s)
    except ModelUnavailable as error:
        err.print(f"[red]✗[/red] the model did not answer: {escape(error.reason)}")
        raise typer.Exit(1) from None
    took = (time.perf_counter() - started) * 1000
    out.print(
        f"[green]✓[/green] answered in {took:.0f} ms "
        f"({usage.tokens_in} tokens in, {usage.tokens_out} out): {escape(text.strip()[:200])}"
    )
    if "[1]" not in text:
        problems += 1
        out.print(
            "[yellow]![/yellow] the reply cites no source; written answers will mostly fall back "
            "to quotes with this model"
        )
    if problems:
        raise typer.Exit(1)
    out.print("[green]Ready:[/green] answers will be written by this model and checked.")
