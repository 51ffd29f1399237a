# qubes.events double: an Emitter dispatches an event to the handlers
# registered on its class hierarchy (extensions register on the VM class)
# whose pattern matches the name; each is called as handler(subject, event,
# **kwargs). A synchronous handler's result is an iterable of effects (or
# None); fire_event refuses async handlers, fire_event_async awaits them.
# Events are delivered only while events_enabled is set.
import asyncio
import collections
import fnmatch


class Emitter:
    __handlers__ = collections.defaultdict(set)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__handlers__ = collections.defaultdict(set)

    def __init__(self):
        self.events_enabled = False

    def _handlers(self, event, pre_event):
        order = list(type(self).__mro__)
        if not pre_event:
            order.reverse()
        for klass in order:
            table = klass.__dict__.get("__handlers__")
            if not table:
                continue
            for pattern, funcs in list(table.items()):
                if fnmatch.fnmatch(event, pattern):
                    yield from list(funcs)

    def _fire(self, event, kwargs, pre_event):
        effects, pending = [], []
        if not self.events_enabled:
            return effects, pending
        for func in self._handlers(event, pre_event):
            effect = func(self, event, **kwargs)
            if asyncio.iscoroutinefunction(func):
                pending.append(effect)
            elif effect is not None:
                effects.extend(effect)
        return effects, pending

    def fire_event(self, event, pre_event=False, **kwargs):
        effects, pending = self._fire(event, kwargs, pre_event)
        if pending:
            for coro in pending:
                coro.close()
            raise RuntimeError("async handler for sync event " + event)
        return effects

    async def fire_event_async(self, event, pre_event=False, **kwargs):
        effects, pending = self._fire(event, kwargs, pre_event)
        if pending:
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(c) for c in pending])
            for task in done:
                effect = task.result()
                if effect is not None:
                    effects.extend(effect)
        return effects
