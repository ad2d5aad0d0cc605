"""``python -m collector``: argument parsing and printing, nothing else.

Every command's work is in its own module; errors the user can act on are
CollectorErrors, printed on one line with a non-zero exit, never a traceback.
The file is longer than 500 lines because it is every command's options and
output in one place, one short function per command; each one's work is not.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from collector import store
from collector.config import load_config
from collector.config.yamlfile import display_path
from collector.errors import CollectorError
from collector.store.sqlite import SAVE_WAIT


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(out)
        return 2
    try:
        return int(args.func(args, out) or 0)
    except CollectorError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m collector",
        description="Run SPICE streaming benchmarks and look at their results.",
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run one experiment through ansible-runner")
    _config_options(run)
    run.add_argument(
        "-i", "--inventory", type=Path, help="inventory (default: inventory/local.yml)"
    )
    run.add_argument("--duration", type=float, help="seconds of the measurement window")
    run.add_argument("-d", "--description", help="what this experiment is about")
    run.add_argument("-v", "--verbose", action="store_true", help="show Ansible's own output")
    run.add_argument(
        "--matrix", action="store_true", help="run the config's matrix: one experiment per point"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="with --matrix: list the runs and the time they take"
    )
    run.set_defaults(func=_cmd_run)

    lst = sub.add_parser("list", help="list the experiments of the local or shared database")
    _db_options(lst)
    lst.add_argument(
        "--remote", action="store_true", help="list the shared PostgreSQL database instead"
    )
    lst.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help="show one experiment and its figures")
    show.add_argument("uuid", help="experiment UUID, or a unique prefix of it (4+ characters)")
    _db_options(show)
    show.set_defaults(func=_cmd_show)

    upload = sub.add_parser(
        "upload", help="push experiments not uploaded yet to the shared PostgreSQL database"
    )
    _config_options(upload)
    upload.add_argument("--db", type=Path, help="SQLite database (default: databases.local)")
    upload.add_argument("--dry-run", action="store_true", help="list what would be uploaded")
    upload.add_argument("--experiment", metavar="UUID", help="upload this experiment only")
    upload.set_defaults(func=_cmd_upload)

    parse = sub.add_parser(
        "parse", help="show what a measurement's parser makes of a raw file (e.g. a real lab's log)"
    )
    parse.add_argument("measurement", help="measurement name, e.g. spice_server or RemoteViewer")
    parse.add_argument("file", type=Path, help="raw file: a log, or an output of the measurement")
    parse.add_argument("--json", action="store_true", help='print {"tables": {TABLE: [ROW, ...]}}')
    parse.set_defaults(func=_cmd_parse)

    doctor = sub.add_parser(
        "doctor", help="check the lab before a run: hosts, tools, displays, screen savers, ports"
    )
    _config_options(doctor)
    doctor.add_argument(
        "-i", "--inventory", type=Path, help="inventory (default: inventory/local.yml)"
    )
    doctor.set_defaults(func=_cmd_doctor)

    export = sub.add_parser("export", help="write every table of an experiment as files")
    export.add_argument("uuid", help="experiment UUID, or a unique prefix of it")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    _writing_options(export)
    export.set_defaults(func=_cmd_export)

    report = sub.add_parser(
        "report", help="write an HTML report with plots: of experiments, or of a sweep"
    )
    report.add_argument("uuid", nargs="*", help="experiment UUID(s), or unique prefixes")
    report.add_argument("--sweep", metavar="ID", help="report a sweep (its id or a prefix)")
    _writing_options(report)
    _remote_option(report)
    report.set_defaults(func=_cmd_report)

    comp = sub.add_parser(
        "compare", help="compare two experiments (with their repetitions) metric by metric"
    )
    comp.add_argument("a", help="A: experiment UUID or prefix, or UUID,UUID,... run by hand")
    comp.add_argument("b", help="B: the same; changes are B relative to A")
    comp.add_argument("--all", action="store_true", help="every numeric figure, not the main ones")
    comp.add_argument(
        "--no-repetitions", action="store_true",
        help="compare the named experiments only, not the other runs of their sweep points",
    )  # fmt: skip
    comp.add_argument("-o", "--output", type=Path, help="also write an HTML report here")
    _db_options(comp)
    _remote_option(comp)
    comp.set_defaults(func=_cmd_compare)

    lab = sub.add_parser(
        "lab", help="a real SPICE lab on this machine: network namespaces reached over SSH"
    )
    lab.add_argument("action", choices=("up", "down", "status"))
    lab.add_argument(
        "--prefix",
        help="name prefix of the lab's namespaces and links (default sbl), so that two "
        "checkouts can each have a lab on one machine",
    )
    lab.set_defaults(func=_cmd_lab)

    rec = sub.add_parser(
        "recover",
        help="collect what a run could not (a lost host back, a controller that died), save it",
    )
    rec.add_argument("uuid", help="the run's UUID, or a unique prefix of it")
    _config_options(rec)
    rec.add_argument(
        "-i", "--inventory", type=Path, help="inventory (default: the one the run used)"
    )
    rec.add_argument("-v", "--verbose", action="store_true", help="show Ansible's own output")
    rec.set_defaults(func=_cmd_recover)

    legacy = sub.add_parser(
        "import-legacy", help="import the old script's result file (its SQLite benchmark.db)"
    )
    legacy.add_argument("file", type=Path, nargs="?", help="the old script's SQLite result file")
    legacy.add_argument(
        "--remote", action="store_true",
        help="read the old script's tables from databases.remote (PostgreSQL) instead",
    )  # fmt: skip
    _config_options(legacy)
    legacy.add_argument(
        "--db", type=Path, help="SQLite database to import into (default: databases.local)"
    )
    legacy.set_defaults(func=_cmd_import_legacy)

    inventory = sub.add_parser(
        "inventory", help="write the inventory the old script's machines: describes"
    )
    inventory.add_argument(
        "--from", dest="source", type=Path, required=True, metavar="CONFIG",
        help="the benchmark.yaml whose machines: to read",
    )  # fmt: skip
    inventory.add_argument("--secure", type=Path, help="secure.yaml to merge")
    inventory.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    inventory.set_defaults(func=_cmd_inventory)

    save = sub.add_parser(
        "save", help="save a run directory as an experiment (after ansible-playbook was cut short)"
    )
    save.add_argument("run_dir", type=Path, help="results/runs/<uuid>")
    save.add_argument("--interrupted", action="store_true", help="record it as interrupted")
    save.add_argument(
        "--db", type=Path, help="SQLite database to save into (default: the run's own)"
    )
    save.add_argument(
        "--wait", type=float, default=SAVE_WAIT, metavar="SECONDS",
        help=f"how long to wait for another process's write lock (default {SAVE_WAIT:g})",
    )  # fmt: skip
    save.set_defaults(func=_cmd_save)
    return parser


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", type=Path, help="benchmark.yaml to use")
    p.add_argument("--secure", type=Path, help="secure.yaml to merge (default: beside the config)")


def _writing_options(p: argparse.ArgumentParser) -> None:
    """For commands that read the local database and write files."""
    p.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    _config_options(p)
    p.add_argument("--db", type=Path, help="SQLite database (default: databases.local)")


def _remote_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--remote", action="store_true",
        help="read the shared PostgreSQL database (databases.remote) instead of the local one",
    )  # fmt: skip


def _db_options(p: argparse.ArgumentParser) -> None:
    _config_options(p)
    p.add_argument(
        "--db", type=Path, help="SQLite database (default: the config's databases.local)"
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def _results(args: argparse.Namespace) -> Any:
    """The local database, or with --remote the shared one, for pandas-based commands."""
    from collector.results.analysis import open_results

    if not getattr(args, "remote", False):
        return open_results(_database(args))
    from collector.store.remote import RemoteSettings

    config = load_config(args.config, args.secure)
    return open_results(
        RemoteSettings.from_config(config.remote_database, display_path(config.path))
    )


def _database(args: argparse.Namespace) -> Path:
    if args.db is not None:
        return args.db
    return load_config(args.config, args.secure).local_database


def _cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from collector.running.run import RunRequest, run_experiment  # ansible-runner loads slowly

    if args.matrix:
        from collector.running.sweep import run_sweep

        if args.duration is not None or args.description is not None:
            raise CollectorError("--matrix takes durations and descriptions from the config")
        return run_sweep(
            args.config, args.secure, args.inventory, dry_run=args.dry_run,
            verbose=args.verbose, out=out,
        )  # fmt: skip
    if args.dry_run:
        raise CollectorError("--dry-run goes with --matrix")

    outcome = run_experiment(
        RunRequest(
            config=args.config,
            secure=args.secure,
            inventory=args.inventory,
            duration=args.duration,
            description=args.description,
            verbose=args.verbose,
        ),
        out=out,
    )
    return outcome.exit_code


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    if args.remote or str(args.db) == "postgresql":
        return _list_remote(args, out)
    database = _database(args)
    if not database.exists():
        experiments: list[dict[str, Any]] = []
    else:
        experiments = store.list_experiments(database)
    if args.json:
        json.dump(experiments, out, indent=1)
        out.write("\n")
        return 0
    if not experiments:
        print(f"no experiments in {database}", file=out)
        return 0
    print(
        f"{'UUID':36}  {'STARTED (UTC)':19}  {'SECONDS':>7}  {'STATUS':11}  {'SWEEP':18}  "
        "DESCRIPTION",
        file=out,
    )
    for e in experiments:
        seconds = f"{e['duration']:.1f}" if e.get("duration") is not None else "-"
        print(
            f"{e['uuid']:36}  {_when(e.get('started_at')):19}  {seconds:>7}  "
            f"{e['status'] + ('*' if e.get('imported') else ''):11}  "
            f"{e.get('sweep_id') or '-':18}  {e.get('description') or ''}",
            file=out,
        )
    print("(* uploaded)", file=out) if any(e.get("imported") for e in experiments) else None
    return 0


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from collector.results.summaries import file_warnings, summarize

    reader = store.open_reader(_database(args))
    experiment = reader.experiment(args.uuid)
    experiment["figures"] = summarize(reader, experiment["uuid"], experiment["tables"])
    experiment["warnings"] = file_warnings(reader, experiment["uuid"], experiment["tables"])
    if args.json:
        json.dump(experiment, out, indent=1, default=str)
        out.write("\n")
        return 0
    e = experiment
    print(f"experiment   {e['uuid']}", file=out)
    print(f"description  {e.get('description') or ''}", file=out)
    print(f"status       {e['status']}{' (uploaded)' if e.get('imported') else ''}", file=out)
    for problem in filter(None, (e.get("status_detail") or "").split("; ")):
        print(f"  problem    {problem}", file=out)
    for warning in e["warnings"]:
        print(f"  warning    {warning}", file=out)
    print(f"started      {_when(e.get('started_at'))} UTC", file=out)
    if e.get("duration") is not None:
        print(f"duration     {e['duration']:.1f} s", file=out)
    print("parameters", file=out)
    # the run's own settings first, then each measurement's options
    for p in sorted(e["parameters"], key=lambda p: p["measurement"] not in ("run", "sweep")):
        print(f"  {p['measurement']}.{p['name']} = {json.dumps(p['value'])}", file=out)
    print("tables", file=out)
    for name, count in sorted(e["tables"].items()):
        print(f"  {name:20} {count} rows", file=out)
    print("attachments", file=out)
    for a in e["attachments"]:
        host = f" [{a['host']}]" if a.get("host") else ""
        print(f"  {a['name']}{host} ({a['size']} bytes)", file=out)
    for section, figures in e["figures"].items():
        print(f"figures: {section}", file=out)
        for key, value in figures.items():
            if isinstance(value, dict):
                shown = ", ".join(f"{k}={v}" for k, v in value.items())
                print(f"  {key}: {shown}", file=out)
            else:
                print(f"  {key} = {value}", file=out)
    return 0


def _list_remote(args: argparse.Namespace, out: TextIO) -> int:
    from collector.store.remote import RemoteSettings
    from collector.store.upload import remote_experiments

    config = load_config(args.config, args.secure)
    settings = RemoteSettings.from_config(config.remote_database, display_path(config.path))
    experiments = remote_experiments(settings)
    if args.json:
        json.dump(experiments, out, indent=1, default=str)
        out.write("\n")
        return 0
    if not experiments:
        print(f"no experiments in {settings.describe()}", file=out)
        return 0
    print(f"{'UUID':36}  {'STARTED (UTC)':19}  {'STATUS':11}  {'ROWS':>9}  UPLOADED BY", file=out)
    for e in experiments:
        print(
            f"{e['uuid']:36}  {_when(e.get('started_at')):19}  {e['status']:11}  "
            f"{e['rows']:>9}  {e.get('uploaded_by') or ''}  {e.get('description') or ''}",
            file=out,
        )
    return 0


def _cmd_upload(args: argparse.Namespace, out: TextIO) -> int:
    from collector.store.remote import RemoteSettings
    from collector.store.upload import pending, upload

    config = load_config(args.config, args.secure)
    database = args.db if args.db is not None else config.local_database
    if args.dry_run:
        uuids = pending(database, args.experiment)
        for uuid in uuids:
            e = store.get_experiment(database, uuid)
            print(f"would upload {uuid}  {e['status']:11}  {e.get('description') or ''}", file=out)
        print(f"{len(uuids)} experiment(s) to upload from {database}", file=out)
        return 0
    settings = RemoteSettings.from_config(config.remote_database, display_path(config.path))
    report = upload(
        database, settings, only=args.experiment, progress=lambda m: print(m, file=out, flush=True)
    )
    rate = f", {report.rows / report.seconds:,.0f} rows/s" if report.seconds and report.rows else ""
    print(
        f"uploaded {len(report.uploaded)} experiment(s), {report.rows} rows in "
        f"{report.seconds:.1f} s{rate}; {len(report.already_there)} already there; "
        f"{len(report.failed)} failed",
        file=out,
    )
    return 0 if report.ok else 1


def _cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    from collector.measurements.registry import parse_file

    tables, warnings = parse_file(args.measurement, args.file)
    lines = tables.lines
    if args.json:
        tables_json = {name: rows.as_dicts() for name, rows in tables.items()}
        json.dump({"tables": tables_json, "lines": lines.as_dict(), "warnings": warnings}, out)
        out.write("\n")
        return 0
    print(f"lines: {lines.describe()}", file=out)
    for warning in warnings:
        print(f"warning: {warning}", file=out)
    for name, rows in tables.items():
        print(f"{name}: {len(rows.rows)} rows", file=out)
        for row in rows.as_dicts()[:3]:
            print(f"  {row}", file=out)
        if len(rows.rows) > 3:
            print("  ...", file=out)
    return 0


def _cmd_import_legacy(args: argparse.Namespace, out: TextIO) -> int:
    from collector.store.legacy import import_legacy_remote, import_legacy_sqlite

    if (args.file is None) == (not args.remote):
        raise CollectorError("import-legacy: give the old SQLite FILE, or --remote, not both")
    database = _database(args)
    progress = lambda m: print(m, file=out, flush=True)  # noqa: E731
    if args.remote:
        from collector.store.remote import RemoteSettings

        config = load_config(args.config, args.secure)
        settings = RemoteSettings.from_config(config.remote_database, display_path(config.path))
        done, source = import_legacy_remote(settings, database, progress), settings.describe()
    else:
        done, source = import_legacy_sqlite(args.file, database, progress), str(args.file)
    print(
        f"imported {len(done.imported)} experiment(s) from {source} into {database}; "
        f"{len(done.already_there)} already there",
        file=out,
    )
    return 0


def _cmd_inventory(args: argparse.Namespace, out: TextIO) -> int:
    import yaml

    from collector.config.machines import describe, inventory_from_machines

    config = load_config(args.source, args.secure)
    where = display_path(config.path)
    if not config.machines:
        raise CollectorError(f"{where}: no machines: to build an inventory from")
    text = yaml.safe_dump(inventory_from_machines(config.machines, where), sort_keys=False)
    header = f"# Built from machines: in {where} ({describe(config.machines)}).\n"
    if args.output is None:
        out.write(header + text)
        return 0
    try:
        args.output.write_text(header + text)
    except OSError as e:
        raise CollectorError(f"cannot write {args.output}: {e.strerror or e}") from None
    print(f"wrote {args.output}: {describe(config.machines)}", file=out)
    return 0


def _cmd_doctor(args: argparse.Namespace, out: TextIO) -> int:
    from collector.running.doctor import doctor, print_table

    checks = doctor(args.config, args.secure, args.inventory, out=out)
    print_table(checks, out)
    return 0 if checks and all(c.ok for c in checks) else 1


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from collector.results.analysis import export

    try:
        written = export(_database(args), args.uuid, args.output, args.format)
    except ImportError as e:  # parquet without pyarrow
        raise CollectorError(
            f"--format {args.format} needs a package that is missing: {e}"
        ) from None
    for path in written:
        print(path, file=out)
    return 0


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from collector.results import report

    if bool(args.uuid) == bool(args.sweep):
        raise CollectorError("report takes experiment UUID(s) or --sweep ID, not both or neither")
    results = _results(args)
    if args.sweep:
        written = [report.sweep_report(results, args.sweep, args.output)]
    elif len(args.uuid) == 1:
        written = [report.experiment_report(results, args.uuid[0], args.output)]
    else:  # one directory per experiment
        written = [
            report.experiment_report(results, u, args.output / results.resolve(u))
            for u in args.uuid
        ]
    for w in written:
        print(f"{w.html} ({len(w.plots)} plot(s) beside it)", file=out)
    return 0


def _cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    from collector.results.compare import compare, format_comparison

    comparison = compare(
        _results(args), args.a, args.b, everything=args.all, repetitions=not args.no_repetitions
    )
    if args.json:
        json.dump({
            "a": comparison.a.uuids, "b": comparison.b.uuids, "method": comparison.method,
            "metrics": [{"metric": m, **d.__dict__} for m, d in comparison.rows],
        }, out, indent=1)  # fmt: skip
        out.write("\n")
    else:
        print(format_comparison(comparison), file=out)
    if args.output is not None:
        from collector.results.report import comparison_report

        written = comparison_report(comparison, args.output)
        print(f"report: {written.html}", file=sys.stderr if args.json else out)
    return 0


def _cmd_lab(args: argparse.Namespace, out: TextIO) -> int:
    from collector.running.lab import lab

    return lab(args.action, prefix=args.prefix)


def _cmd_recover(args: argparse.Namespace, out: TextIO) -> int:
    from collector.running.recover import recover

    return recover(
        args.uuid, args.config, args.secure, args.inventory, verbose=args.verbose, out=out
    ).exit_code


def _cmd_save(args: argparse.Namespace, out: TextIO) -> int:
    from ansible.release import __version__ as ansible_version

    from collector.running.ingest import save_run

    saved = save_run(
        args.run_dir,
        interrupted=args.interrupted,
        ansible_version=ansible_version,
        database=args.db,
        wait=args.wait,
        progress=lambda line: print(line, file=out, flush=True),
    )
    print(saved.summary(), file=out)
    return 0 if saved.status == "ok" else 1


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
