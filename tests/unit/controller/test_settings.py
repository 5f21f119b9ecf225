"""The app reads its settings from os-ken's configuration, as os-ken apps do: no module global."""

import pytest
from oslo_config import cfg as oslo_cfg

from sovnet.controller import launcher
from sovnet.controller.app import Settings, register_options


def test_the_launchers_command_line_sets_every_setting():
    conf = oslo_cfg.ConfigOpts()
    register_options(conf)
    conf(args=launcher.conf_args("s.db", "10.0.0.1", 6633, 0, use_bundles=False)[4:])
    assert Settings.from_conf(conf) == Settings("s.db", 0.0, False)


def test_the_defaults_are_those_of_sovnet_controller():
    conf = oslo_cfg.ConfigOpts()
    register_options(conf)
    conf(args=[])
    assert Settings.from_conf(conf) == Settings("sovnet.db", 30.0, True)


def test_options_registered_after_parsing_come_from_a_config_file(tmp_path):
    ini = tmp_path / "sovnet.conf"
    ini.write_text("[sovnet]\nstore = /var/lib/sovnet.db\nreconcile_interval = 5\n")
    conf = oslo_cfg.ConfigOpts()
    conf(args=["--config-file", str(ini)])  # parsed before the app module registers its options
    register_options(conf)
    assert Settings.from_conf(conf) == Settings("/var/lib/sovnet.db", 5.0, True)


def test_a_negative_interval_is_refused():
    conf = oslo_cfg.ConfigOpts()
    register_options(conf)
    with pytest.raises(SystemExit):
        conf(args=["--sovnet-reconcile-interval", "-1"])


def test_the_entry_point_parses_the_same_options_as_sovnet_controller():
    args = launcher.parser().parse_args(["--store", "x.db", "--port", "6633", "--no-bundles"])
    assert (args.store, args.host, args.port, args.reconcile_interval, args.no_bundles) == (
        "x.db", "127.0.0.1", 6633, 30.0, True)
