"""A handler that raises must not end os-ken's event loop (on the native hub it would, silently)."""

from types import SimpleNamespace

from sovnet.controller.app import guarded
from sovnet.controller.sync import RETRY_FIRST, Step, SwitchSync


class FakeApp:
    def __init__(self):
        self.failed, self.done = [], []
        enforcer = SimpleNamespace(failed=lambda dpid, text: self.failed.append((dpid, text)))
        self.sync = SwitchSync(enforcer)

    def _do(self, dp, step):
        self.done.append((dp.id, step))

    @guarded
    def _flow_stats(self, ev):
        raise ValueError("cannot decode")


def test_a_raising_handler_is_contained_and_the_switch_is_started_over(caplog):
    app = FakeApp()
    ev = SimpleNamespace(msg=SimpleNamespace(datapath=SimpleNamespace(id=7)))
    assert app._flow_stats(ev) is None  # no exception escapes
    assert app.failed == [(7, "_flow_stats: cannot decode")]
    assert app.done == [(7, Step(retry_in=RETRY_FIRST))]  # a full sync after a pause
    assert "dpid=0000000000000007 _flow_stats failed" in caplog.text


def test_a_raising_handler_without_a_switch_is_only_logged(caplog):
    app = FakeApp()
    assert app._flow_stats(SimpleNamespace()) is None
    assert app.failed == [] and app.done == []
    assert "dpid=? _flow_stats failed" in caplog.text
