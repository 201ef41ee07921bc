"""The killer: SIGKILL a random part every few seconds and bring it back, as the supervisor would."""

import random
import time
from collections import Counter
from dataclasses import dataclass

from stack import StartError

INTERVAL = (3.0, 6.0)
# stack/supervisor.py's first restart delay.
RESTART_DELAY = 0.5
START_TRIES = 4
# How often parts that exited on their own are looked for between kills.
TICK = 0.5


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: which part, and when (epoch seconds, the gateway's clock)."""

    part: str
    time: float


class Chaos:
    """Kills parts of a stack at random and starts them again; what it killed and what died unasked.

    It runs in the thread that started the stack: a part started from another
    thread could die with that thread (a parent-death signal follows the thread).
    """

    def __init__(self, stack, parts, seed, say):
        self.stack = stack
        self.parts = list(parts)
        self.rng = random.Random(f"{seed}-chaos")
        self.say = say
        self.kills = []
        self.exits = Counter()

    def run(self, going):
        """Kill a random part every 3-6 s, and start it again, for as long as going() is true."""
        next_kill = time.monotonic() + self.rng.uniform(*INTERVAL)
        while going():
            self.revive()
            if time.monotonic() >= next_kill:
                started = time.monotonic()
                self._kill(self.rng.choice(self.parts))
                next_kill = started + self.rng.uniform(*INTERVAL)
            time.sleep(min(TICK, max(0.0, next_kill - time.monotonic())))

    def by_part(self):
        """Kills counted by part, in the stack's order."""
        counts = Counter(kill.part for kill in self.kills)
        return {part: counts[part] for part in self.parts}

    def revive(self):
        """Start every part that is not running; one found dead without a kill is counted."""
        for part in self.parts:
            if self.stack.pid(part) is None:
                self.exits[part] += 1
                self.say(f"{part} exited on its own; starting it")
                self._start(part)

    def _kill(self, part):
        at = time.time()
        self.stack.kill(part)
        self.kills.append(Kill(part, at))
        time.sleep(RESTART_DELAY)
        self._start(part)

    def _start(self, part):
        for attempt in range(START_TRIES):
            try:
                self.stack.start(part)
                return
            except StartError as exc:
                self.say(f"{part} did not start (try {attempt + 1}): {exc}")
                time.sleep(2 ** attempt)
        raise StartError(f"{part} did not start again in {START_TRIES} tries")
