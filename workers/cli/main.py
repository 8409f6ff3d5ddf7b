"""The ``suppressor`` command: run the worker, the demo, and the operator and list tools."""

from __future__ import annotations

import sys

import typer

from workers.cli.common import fail, load_settings
from workers.cli.list_commands import register as register_list_tools
from workers.cli.mail_commands import mail_app
from workers.cli.unsubscribe_command import register as register_unsubscribe

__all__ = ["app", "main"]

app = typer.Typer(
    help="Email suppression lists kept by a Kafka stream worker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
broker_app = typer.Typer(help="A local single-node Kafka broker (KRaft) for laptops and tests.")
app.add_typer(broker_app, name="broker")
app.add_typer(mail_app, name="mail")
register_list_tools(app)
register_unsubscribe(app)


@app.command()
def worker() -> None:
    """Run the stream worker (faust) with the settings from the environment."""
    from workers.stream.runner import run_worker

    run_worker(load_settings())


@app.command()
def topics() -> None:
    """Create every topic the product uses (idempotent) and report what was created or found."""
    from confluent_kafka import KafkaException

    from workers.kafka.topics import ensure_topics

    settings = load_settings()
    try:
        report = ensure_topics(settings, say=typer.echo)
    except (KafkaException, TimeoutError) as exc:
        raise fail(
            f"could not create topics at {settings.bootstrap_servers}: {exc}. "
            "Is the broker running? (suppressor broker start)"
        ) from exc
    typer.echo(f"{len(report.created)} created, {len(report.found)} already there")


@app.command()
def classify() -> None:
    """Classify bounce events given as JSON lines on stdin; one JSON line out per line."""
    from workers.cli.classify_command import run_classify

    raise typer.Exit(run_classify(sys.stdin, sys.stdout))


@app.command()
def api() -> None:
    """Serve the HTTP API (the list tools, per account) on SUPPRESSOR_API_HOST:PORT."""
    from suppressor_client.feed import FeedError

    from workers.api.app import serve

    try:
        serve(load_settings())
    except (ValueError, FeedError) as exc:  # unreadable SUPPRESSOR_API_KEYS, no topic
        raise fail(str(exc), 2) from exc


@app.command()
def policy() -> None:
    """Serve the send decision to MTAs: Postfix policy delegation and a local HTTP decide."""
    from suppressor_client.feed import FeedError

    from workers.policy.run import run_policy

    try:
        run_policy(load_settings(), typer.echo)
    except (ValueError, FeedError) as exc:  # a bad account map, no topic
        raise fail(str(exc), 2) from exc


@app.command()
def openapi() -> None:
    """Write docs/openapi.json from the app, so the published contract matches the code."""
    from workers.api.app import create_app
    from workers.api.openapi import write_document
    from workers.settings import Settings

    typer.echo(write_document(create_app(Settings())))  # nothing starts until the app serves


@app.command()
def demo(
    events: int = typer.Option(2000, help="Customer events of the background load."),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="Leave the worker and the broker running afterwards."
    ),
) -> None:
    """Start a local broker if none answers, create topics, run a worker and a demo load."""
    from workers.devkit.demo import run_demo

    raise typer.Exit(run_demo(load_settings(), events=events, keep_running=keep_running))


def _broker_command(action: str) -> None:
    from workers.devkit.local_broker import BrokerError, LocalBroker

    broker = LocalBroker.from_settings(load_settings(), say=typer.echo)
    try:
        if action == "start":
            bootstrap = broker.start()
            typer.echo(f"export KAFKA_BOOTSTRAP_SERVERS={bootstrap}")
        elif action == "stop":
            broker.stop()
        elif action == "fetch":
            broker.fetch()
            typer.echo(f"jars ready in {broker.lib_dir}")
        else:
            typer.echo(broker.status())
    except BrokerError as exc:
        raise fail(str(exc)) from exc


@broker_app.command("start")
def broker_start() -> None:
    """Fetch the Kafka jars if needed and start the broker, or reuse the running one."""
    _broker_command("start")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker started by this tool."""
    _broker_command("stop")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the local broker runs and answers."""
    _broker_command("status")


@broker_app.command("fetch")
def broker_fetch() -> None:
    """Only resolve the broker's jars from Maven Central into the cache."""
    _broker_command("fetch")


def main() -> None:
    app()
