# qubes.vm double: LocalVM, the class extensions hook.
import qubes.events


class LocalVM(qubes.events.Emitter):
    pass
