"""The life of a run: claim each service's head, start it on ECS, finish it, move dependents.

`steps` turns a change into a run (or rejects it), `start` starts a claimed record, `finish` ends
one, `dependents` starts or skips those that waited for it; `shared` holds what they share. They
import one way (steps, dependents, start, finish, shared), but the calls go round: a start can
end its record, and an end starts the dependents it released. Finishing reaches the dependents
through the mover named here, which Python runs before any of these modules is used.
"""

from . import dependents, finish

finish.moves_dependents_with(dependents.move_on)
