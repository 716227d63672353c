"""Options come from app.config, are overridden by keyword arguments, and are checked at registration."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.runnables import Runnable
from quart import Quart

from quart_llmstream import ConfigError, Settings, create_blueprint
from quart_llmstream.settings import load_settings

from fakes import answering


def factory(_: object) -> Runnable[Any, Any]:
    return answering("x")


def test_defaults() -> None:
    settings = load_settings({}, {})
    assert settings == Settings()
    assert (settings.route, settings.expose_errors, settings.max_duration) == ("/chat", False, None)


def test_config_keys_are_read_and_keywords_override_them() -> None:
    config = {"LLMSTREAM_MAX_HISTORY": 7, "LLMSTREAM_EXPOSE_ERRORS": True, "OTHER": 1}
    settings = load_settings(config, {"max_history": 3})
    assert settings.max_history == 3
    assert settings.expose_errors is True


def test_string_values_from_the_environment_are_coerced() -> None:
    settings = load_settings({"LLMSTREAM_MAX_DURATION": "2.5", "LLMSTREAM_EXPOSE_ERRORS": "true"}, {})
    assert (settings.max_duration, settings.expose_errors) == (2.5, True)
    assert load_settings({"LLMSTREAM_RESUME": ""}, {}).resume is None  # set empty: off
    assert load_settings({"LLMSTREAM_RESUME": "redis://r:6379/0"}, {}).resume == "redis://r:6379/0"
    unset = {f"LLMSTREAM_{key}": "" for key in ("SEND_TIMEOUT", "MAX_DURATION", "MAX_STREAMS", "IDLE_TIMEOUT")}
    off = load_settings(unset | {"LLMSTREAM_LANGFUSE": "None"}, {})  # no cap: as None says in code
    assert (off.send_timeout, off.max_duration, off.max_streams, off.idle_timeout, off.langfuse) == (None,) * 5
    assert load_settings({"LLMSTREAM_MAX_STREAMS": "8"}, {}).max_streams == 8


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LLMSTREAM_MAX_HISTORY", -1),
        ("LLMSTREAM_MAX_QUESTION_CHARS", 0),
        ("LLMSTREAM_MAX_DURATION", -3),
        ("LLMSTREAM_EXPOSE_ERRORS", "maybe"),
        ("LLMSTREAM_ROUTE", "chat"),
        ("LLMSTREAM_RESUME", "postgres://db"),
    ],
)
def test_a_bad_config_value_fails_registration_naming_the_key(key: str, value: object) -> None:
    app = Quart(__name__)
    app.config[key] = value
    with pytest.raises(ConfigError, match=key):
        app.register_blueprint(create_blueprint(factory))


def test_a_bad_keyword_value_names_the_keyword() -> None:
    app = Quart(__name__)
    with pytest.raises(ConfigError, match="keyword argument max_history"):
        app.register_blueprint(create_blueprint(factory, max_history="many"))


def test_options_that_do_not_go_together_are_named_as_the_app_set_them() -> None:
    with pytest.raises(ConfigError, match="LLMSTREAM_FEEDBACK_RANGE: the lowest score first"):
        load_settings({"LLMSTREAM_FEEDBACK_RANGE": "1,0"}, {})
    with pytest.raises(ConfigError, match="keyword argument single_user and keyword argument stream_owner do not"):
        load_settings({}, {"single_user": True, "stream_owner": lambda _: "ann"})


def test_unknown_keyword_fails_at_once() -> None:
    with pytest.raises(ConfigError, match="max_histroy"):
        create_blueprint(factory, max_histroy=3)


def test_unknown_config_key_fails_registration() -> None:
    app = Quart(__name__)
    app.config["LLMSTREAM_MAX_HISTROY"] = 3
    with pytest.raises(ConfigError, match="LLMSTREAM_MAX_HISTROY"):
        app.register_blueprint(create_blueprint(factory))


def test_the_configuration_reference_lists_every_setting_with_its_default() -> None:
    import re
    from pathlib import Path

    reference = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `LLMSTREAM_(\w+)` \| `?([^`|]*)`? \|", reference, re.MULTILINE))
    assert set(rows) == {name.upper() for name in Settings.model_fields}
    for name, field in Settings.model_fields.items():
        assert rows[name.upper()] == repr(field.default).replace("'", '"'), name


@pytest.mark.parametrize("protocol", ["langgraph", "ai-sdk"])
def test_a_blueprint_without_owners_says_it_serves_no_thread_routes(protocol: str, caplog: Any) -> None:
    """Its clients' ``/threads`` answer 404: the log says why, once, as the blueprint is registered."""
    caplog.set_level("INFO", logger="quart_llmstream")
    apps = {how: Quart(how) for how in ("alone", "owned", "one user")}
    options: dict[str, dict[str, Any]] = {"alone": {}, "owned": {"stream_owner": lambda _: "u"}, "one user": {}}
    apps["one user"].config["LLMSTREAM_SINGLE_USER"] = True
    for how, app in apps.items():
        app.register_blueprint(create_blueprint(lambda _: answering("x"), protocol=protocol, **options[how]))
    said = [r.getMessage() for r in caplog.records if "serves no thread routes" in r.getMessage()]
    lists = ("/threads", "/threads/search")  # where a protocol's clients list their threads
    rules = {how: {r.rule for r in app.url_map.iter_rules() if r.rule.endswith(lists)} for how, app in apps.items()}
    assert len(said) == 1 and "LLMSTREAM_SINGLE_USER" in said[0], "and what turns them on for an app of one user"
    assert not rules["alone"] and rules["owned"] and rules["one user"]
