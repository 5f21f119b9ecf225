"""A handler that raises must not end os-ken's event loop (on the native hub it would, silently)."""

from types import SimpleNamespace

from sovnet.controller.app import guarded


class FakeApp:
    def __init__(self):
        self.failed, self.retries = [], []
        self.enforcer = SimpleNamespace(failed=lambda dpid, text: self.failed.append((dpid, text)))

    def _retry_later(self, dpid):
        self.retries.append(dpid)

    @guarded
    def _flow_stats(self, ev):
        raise ValueError("cannot decode")


def test_a_raising_handler_is_contained_and_the_switch_is_started_over(caplog):
    app = FakeApp()
    ev = SimpleNamespace(msg=SimpleNamespace(datapath=SimpleNamespace(id=7)))
    assert app._flow_stats(ev) is None  # no exception escapes
    assert app.failed == [(7, "_flow_stats: cannot decode")]
    assert app.retries == [7]
    assert "dpid=0000000000000007 _flow_stats failed" in caplog.text
