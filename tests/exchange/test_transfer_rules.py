"""The transfer state machine: every step by the party the rules give it to, nothing else."""

from __future__ import annotations

import itertools

import pytest

from hub.exchange.transfer_rules import (
    TERMINAL,
    TRANSITIONS,
    TransferAction,
    TransferRole,
    TransferState,
    step,
)
from hub.exchange.workflow_errors import StateConflict, WrongParty

S, A, R = TransferState, TransferAction, TransferRole


def test_the_allowed_path() -> None:
    state = S.REQUESTED
    state = step(state, A.APPROVE, {R.ORIGIN})
    assert state is S.APPROVED
    state = step(state, A.ACCEPT, {R.RECEIVING})
    assert state is S.ACCEPTED
    assert step(state, A.COMPLETE, {R.ORIGIN}) is S.COMPLETED


@pytest.mark.parametrize(("state", "action", "roles"), [
    (S.REQUESTED, A.APPROVE, {R.RECEIVING, R.BRANCH, R.REQUESTER}),  # 党籍管理 is the origin's
    (S.APPROVED, A.ACCEPT, {R.ORIGIN, R.BRANCH}),                  # only the receiving side
    (S.ACCEPTED, A.COMPLETE, {R.RECEIVING, R.BRANCH, R.REQUESTER}),
    (S.REQUESTED, A.WITHDRAW, {R.ORIGIN, R.RECEIVING}),            # only who asked
    (S.REQUESTED, A.REJECT, {R.RECEIVING, R.BRANCH}),              # the origin decides first
])
def test_wrong_party_is_denied(state: TransferState, action: TransferAction,
                               roles: set[TransferRole]) -> None:
    with pytest.raises(WrongParty) as caught:
        step(state, action, roles)
    assert caught.value.code == "WRONG_PARTY"


@pytest.mark.parametrize(("terminal", "action"), list(itertools.product(sorted(TERMINAL),
    list(TransferAction))))
def test_terminal_states_are_final_for_everyone(terminal: TransferState,
                                                action: TransferAction) -> None:
    with pytest.raises(StateConflict, match="final"):
        step(terminal, action, set(TransferRole))


def test_steps_out_of_order_conflict() -> None:
    with pytest.raises(StateConflict, match="possible steps: approve, reject, withdraw"):
        step(S.REQUESTED, A.ACCEPT, set(TransferRole))
    with pytest.raises(StateConflict):
        step(S.ACCEPTED, A.WITHDRAW, set(TransferRole))  # too late once accepted


def test_every_state_is_reachable_and_terminals_have_no_exit() -> None:
    targets = {t.target for t in TRANSITIONS.values()} | {S.REQUESTED}
    assert targets == set(TransferState)
    assert not any(s in TERMINAL for (s, _) in TRANSITIONS)
