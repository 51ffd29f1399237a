# qubes.app double: the app, its domains (looked up by name, qid or VM;
# KeyError otherwise) and the qrexec double the test installs
# (app.qrexec = async fn(vm, service, user, input, kwargs) -> (rc, out,
# err)).
import qubes.events
from qubes.vm.adminvm import AdminVM
from qubes.vm.qubesvm import QubesVM


class VMCollection:
    def __init__(self):
        self._vms = {}

    def add(self, vm):
        self._vms[vm.name] = vm
        return vm

    def __getitem__(self, key):
        for vm in self._vms.values():
            if key is vm or key == vm.name or key == vm.qid:
                return vm
        raise KeyError(key)

    def get_blind(self, key):
        return self[key]

    def __contains__(self, key):
        try:
            self[key]
            return True
        except KeyError:
            return False

    def __iter__(self):
        return iter(list(self._vms.values()))

    def values(self):
        return list(self._vms.values())


class Qubes(qubes.events.Emitter):
    def __init__(self):
        super().__init__()
        self.domains = VMCollection()
        self.domains.add(AdminVM(self))
        self.qrexec = None
        self.events_enabled = True

    def add_vm(self, name, qid, **kwargs):
        vm = self.domains.add(QubesVM(self, name, qid, **kwargs))
        vm.events_enabled = True
        vm.fire_event("domain-load")
        return vm
