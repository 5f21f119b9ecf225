"""Policy commands as typed in the CLI, on a real SQLite store (no network needed)."""

import re
from pathlib import Path

import pytest

from sovnet import commands
from sovnet.commands import CommandError
from sovnet.config import load_topology
from sovnet.store import open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "analyst")
    s = open_store(tmp_path / "store.db")
    s.load_inventory(load_topology(ROOT / "topologies" / "national.yaml"), "t", "load")
    return s


def test_add_list_revoke(store):
    text, rev = commands.run(store, "policy add deny international --scope isp:mobiq "
                                    "--priority 50 --why 'national order 7'")
    assert text == "added #1 deny international for isp:mobiq (priority 50)"
    assert rev == 2
    assert commands.run(store, "policy list")[0] == (
        "#1 deny international for isp:mobiq (priority 50)  -- national order 7")
    assert store.policies()[0].author == "analyst"
    assert commands.run(store, "policy revoke 1")[0] == "revoked #1"
    assert commands.run(store, "policy list")[0] == "no policies in force"
    assert commands.run(store, "policy list --at 2")[0].startswith("#1 deny international")


def test_unknown_service_is_refused_before_the_store_is_written(store):
    rev = store.revision()
    with pytest.raises(CommandError) as e:  # the store refuses it, whoever the writer
        commands.run(store, "policy add deny service:nope")
    assert str(e.value).startswith("policy add: new policy: unknown service 'nope' (expected "
                                   "one of: ")
    assert e.value.exit_code == 2
    assert store.revision() == rev


def test_bad_target_syntax(store):
    with pytest.raises(CommandError, match=r"bad port '99999' \(expected a number from 1 to"):
        commands.run(store, "policy add deny port:udp/99999")


def test_load_policy_set_is_one_revision_with_each_policys_reason(store):
    rev = store.revision()
    policy_set = ROOT / "controller" / "policies" / "essential-services.yaml"
    text, new = commands.run(store, ["policy", "load", str(policy_set)])
    assert new == rev + 1
    assert text.startswith("loaded ")
    reasons = {p.reason for p in store.policies()}
    assert "banking is essential" in reasons


def test_subscriber_and_device_commands(store):
    name = next(iter(store.subscribers()))
    assert commands.run(store, f"subscriber revoke {name}")[0] == f"{name} is now revoked"
    assert store.subscribers()[name].status == "revoked"
    mac = "02:aa:00:00:00:01"
    assert commands.run(store, f"device register {name} {mac}")[0] == (
        f"device {mac} registered to {name}")
    assert mac in store.subscribers()[name].devices


def test_history_and_explain(store):
    commands.run(store, "policy add deny category:GRP --why 'social media ban'")
    hist = commands.run(store, "history -n 1")[0]
    assert "analyst" in hist and "social media ban" in hist
    assert "add policy #1 deny category:GRP for all priority 100: social media ban" in hist
    head = hist.splitlines()[0]
    assert re.fullmatch(r"r\d+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z  analyst: "
                        r"social media ban", head), head
    sub = store.topology().subscribers[0].name
    grp = next(s for s in store.topology().services if s.category == "GRP")
    text = commands.run(store, f"explain {sub} {grp.domains[0]}")[0]
    assert ": dropped" in text.splitlines()[0]
    assert "decided by policy #1 deny category:GRP for all (priority 100): social media ban" in text


def test_usage_errors_do_not_exit(store):
    with pytest.raises(CommandError,
                       match="unknown action 'block' \\(expected one of: allow, deny, reject, "):
        commands.run(store, "policy add block international")
    with pytest.raises(CommandError, match="the following arguments are required: target"):
        commands.run(store, "policy add deny")


def test_add_and_load_agree_on_what_names_exist(store, tmp_path):
    # FILE is a Citizen Lab code, but no service of national.yaml has it: refused both ways.
    with pytest.raises(CommandError,
                       match=r"policy add: new policy: unknown category 'FILE' \(expected one"):
        commands.run(store, "policy add deny category:FILE")
    ps = tmp_path / "p.yaml"
    ps.write_text("name: x\npolicies:\n  - {action: deny, target: 'category:FILE'}\n")
    from sovnet.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown category 'FILE' in topology 'national'"):
        commands.run(store, ["policy", "load", str(ps)])


def test_an_unbalanced_quote_is_a_clear_error():
    with pytest.raises(CommandError, match="cannot read the command: No closing quotation"):
        commands.run(None, 'policy add deny international --why "national order')


def test_enforcement_report_names_switches_and_times_from_the_commit(store):
    _, rev = commands.run(store, "policy add deny international --why 'order 7'")
    committed = store.revision_info(rev).committed_at
    sw = store.topology().switches
    store.record_ack(rev, sw[1].dpid, committed + 0.012, 1)
    store.record_ack(rev, sw[0].dpid, committed + 0.005, 0)
    lines = commands.run(store, "enforcement")[0].splitlines()
    assert lines[0] == f"revision {rev} (order 7), committed by analyst; 2 acknowledgements:"
    assert lines[1].startswith(f"  {sw[0].name} (dpid {sw[0].dpid:#x})")
    assert lines[1].endswith("+5.0 ms (0 flow changes)")
    assert lines[-1] == "  last switch: +12.0 ms"


def test_dns_tamper_from_the_command_line(store):
    text, _ = commands.run(store, "policy add dns_tamper:nxdomain category:GRP --scope isp:mobiq")
    assert text == "added #1 dns_tamper:nxdomain category:GRP for isp:mobiq (priority 100)"
    with pytest.raises(CommandError, match="bad dns_tamper answer 'maybe'"):
        commands.run(store, "policy add dns_tamper:maybe category:GRP")


def test_history_summarises_the_inventory_and_speaks_json(store):
    import json

    commands.run(store, "policy add deny category:GRP --why 'social media ban'")
    name = next(iter(store.subscribers()))
    commands.run(store, f"subscriber standing {name} 40")
    text = commands.run(store, "history")[0]
    inventory = text.splitlines()[1]
    n = len(store.topology().subscribers)
    assert inventory.strip().startswith(f"inventory loaded: {n} subscribers, ")
    assert max(len(line) for line in text.splitlines()) < 200  # no revision on one huge line
    assert f"subscriber {name}: standing 40, status registered" in text
    lines = [json.loads(x) for x in commands.run(store, "history -n 2 --json")[0].splitlines()]
    assert [x["changes"][0]["entity"] for x in lines] == ["policy", "subscriber"]
    assert lines[0]["committed_at"].endswith("Z") and lines[0]["author"] == "analyst"
    assert lines[1]["changes"][0]["body"] == {"status": "registered", "standing": 40}


def test_explain_looks_at_a_past_revision(store):
    sub = store.topology().subscribers[0].name
    grp = next(s for s in store.topology().services if s.category == "GRP")
    _, cut = commands.run(store, "policy add deny category:GRP --why 'social media ban'")
    commands.run(store, "policy revoke 1 --why lifted")
    now = commands.run(store, f"explain {sub} {grp.domains[0]}")[0]
    assert ": delivered" in now.splitlines()[0]
    then = commands.run(store, f"explain {sub} {grp.domains[0]} --at {cut}")[0].splitlines()
    assert re.fullmatch(rf"at revision {cut} \(\d{{4}}-.*Z\)", then[0]) and ": dropped" in then[1]
    assert "decided by policy #1 deny category:GRP for all (priority 100): social media ban" in (
        "\n".join(then))
    with pytest.raises(CommandError, match=r"explain --at: no revision 99 \(expected 1 to 3\)"):
        commands.run(store, f"explain {sub} {grp.domains[0]} --at 99")


def test_listings_speak_json(store):
    import json

    commands.run(store, "policy add deny international --scope isp:mobiq --daily 16:00-24:00 "
                        "--why 'evening cut'")
    [pol] = [json.loads(x) for x in commands.run(store, "policy list --json")[0].splitlines()]
    assert pol == {"id": 1, "action": "deny", "scope": "isp:mobiq", "target": "international",
                   "priority": 100, "author": "analyst", "reason": "evening cut",
                   "schedule": {"daily": [57600.0, 0.0], "from": None, "until": None}}
    subs = [json.loads(x) for x in commands.run(store, "subscriber list --json")[0].splitlines()]
    assert len(subs) == len(store.topology().subscribers)
    assert set(subs[0]) == {"name", "class", "isp", "status", "standing", "devices"}
    sw = store.topology().switches[0]
    store.record_ack(2, sw.dpid, store.revision_info(2).committed_at + 0.0125, 3)
    got = json.loads(commands.run(store, "enforcement 2 --json")[0])
    assert got["revision"] == 2 and got["reason"] == "evening cut"
    assert got["acks"] == [{"switch": sw.name, "dpid": sw.dpid, "ms": 12.5, "flows_changed": 3,
                            "refused": None, "note": None}]
    sub = store.topology().subscribers[0].name
    e = json.loads(commands.run(store, f"explain {sub} 172.16.0.2 --json")[0])
    assert e["src"] == sub and e["revision"] == 2 and e["verdict"] == "delivered to social"
    assert set(e) >= {"path", "steps", "decided_by", "packet", "dst_ip"}


@pytest.mark.parametrize(("command", "message"), [
    ("subscriber standing nobody 40", "subscriber standing: no subscriber 'nobody' (expected "
                                      "one of: "),
    ("subscriber standing alice 400", "subscriber standing: standing 400 out of range (expected "
                                      "an integer 0 to 100)"),
    ("enforcement 99", "enforcement: no revision 99 (expected 1 to 1)"),
    ("policy revoke 7", "policy revoke: "),
])
def test_store_refusals_are_bad_input_named_by_their_command(store, command, message):
    with pytest.raises(CommandError) as e:
        commands.run(store, command)
    assert str(e.value).startswith(message) and e.value.exit_code == 2
    assert store.revision() == 1


def test_the_interactive_help_names_every_action_target_and_scope():
    from sovnet.interactive import HELP
    from sovnet.model.policy import ACTIONS, SCOPE_KINDS, TARGET_KINDS

    words = set(re.findall(r"[a-z_-]+", HELP))
    assert [a for a in ACTIONS if a not in words] == []
    assert [t for t in TARGET_KINDS if t not in words] == []
    assert [s for s in SCOPE_KINDS if s not in words] == []
    assert max(len(line) for line in HELP.splitlines()) <= 100
