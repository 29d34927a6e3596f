from cpu_pipeline.lib.debounce import Debounce, evaluate

MAX_WAIT = 300


def _run(signals: list[str], interval: float = 30, in_progress: list[bool] | None = None) -> list[bool]:
    """Evaluate the signals one interval apart, from no state, with a run in progress at the ticks
    `in_progress` says (none by default); whether each evaluation requested a run."""
    state, requested = None, []
    for tick, signal in enumerate(signals):
        running = in_progress[tick] if in_progress else False
        state, request = evaluate(
            Debounce.from_cursor(state.to_cursor()) if state else None, signal, tick * interval, MAX_WAIT, running
        )
        requested.append(request)
    return requested


def test_the_first_evaluation_only_takes_a_baseline():
    assert _run(["a"]) == [False]


def test_no_change_requests_nothing():
    assert _run(["a"] * 10) == [False] * 10


def test_a_change_requests_one_run_once_it_has_stayed_the_same_for_one_interval():
    assert _run(["a", "b", "b", "b", "b"]) == [False, False, True, False, False]


def test_a_burst_gives_one_run_after_it_settles():
    assert _run(["a", "b", "c", "d", "e", "e", "e"]) == [False, False, False, False, False, True, False]


def test_a_burst_that_never_settles_gets_a_run_five_minutes_after_its_first_change_then_again():
    signals = ["a", *(f"s{tick}" for tick in range(1, 25))]  # a new value every 30 s for 12 minutes
    requested = _run(signals)
    # first change seen at 30 s; 300 s later (at 330 s, tick 11) a run; the next burst starts at tick 12
    assert [tick for tick, request in enumerate(requested) if request] == [11, 22]


def test_a_return_to_the_requested_signal_cancels_the_pending_change():
    assert _run(["a", "b", "a", "a"]) == [False, False, False, False]


def test_a_signal_that_comes_back_to_an_earlier_value_gets_a_run_key_of_its_own():
    state, keys = None, []
    for tick, signal in enumerate(["a", "b", "b", "a", "a", "b", "b"]):
        state, requested = evaluate(state, signal, tick * 30.0, MAX_WAIT)
        keys += [state.run_key] if requested else []
    assert keys == ["1:b", "2:a", "3:b"]


def test_a_change_during_a_run_is_requested_once_the_run_has_ended():
    running = [False, True, True, True, False, False]
    assert _run(["a", "b", "b", "b", "b", "b"], in_progress=running) == [False, False, False, False, True, False]


def test_a_change_made_as_the_run_ends_still_settles_for_one_interval():
    running = [False, True, True, False, False]
    assert _run(["a", "b", "b", "c", "c"], in_progress=running) == [False, False, False, False, True]


def test_a_burst_past_the_maximum_wait_still_waits_for_the_run_in_progress_then_runs_at_once():
    signals = ["a", *(f"s{tick}" for tick in range(1, 16))]  # a new value every 30 s
    running = [False] + [True] * 13 + [False] * 2  # a run in progress until 420 s, past the 330 s maximum
    requested = _run(signals, in_progress=running)
    assert [tick for tick, request in enumerate(requested) if request] == [14]


def test_several_changes_during_a_run_give_one_run_after_it():
    running = [False, True, True, True, True, False, False, False]
    assert _run(["a", "b", "c", "d", "d", "d", "d", "d"], in_progress=running) == [False] * 5 + [True, False, False]


def test_the_state_survives_the_cursor():
    state = Debounce(requested="a", previous="b", changed_since=12.5, requests=3)
    assert Debounce.from_cursor(state.to_cursor()) == state
