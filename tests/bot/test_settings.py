from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.app import default_platforms
from bot.settings import AccountSpec, Settings, SettingsError
from bot.settings import load_settings as load_with


def load_settings(env: Mapping[str, str | None] | None = None, dotenv_path: str | Path | None = ".env") -> Settings:
    """The settings as `cercle` reads them: the core's, and every platform's section."""
    return load_with(env, dotenv_path, platforms=default_platforms())


def test_defaults() -> None:
    s = load_settings({})
    assert s.database_url == "sqlite:///cercle.db" and s.locale == "en" and s.timezone == "Europe/Paris"
    slack, matrix = s.section("slack"), s.section("matrix")
    assert (s.http_host, s.http_port, slack.command, matrix.prefix) == ("127.0.0.1", 3000, "/cercle", "!cercle")
    assert not slack.configured and not matrix.configured and s.configured() == ()


def test_every_setting_is_read() -> None:
    s = load_settings({
        "CERCLE_DATABASE_URL": "postgresql://u:p@db:5432/cercle",
        "CERCLE_ADMINS": "slack:T1:U2, matrix:@a:ex.org,console:bob",
        "CERCLE_LOCALE": "fr", "CERCLE_TIMEZONE": "America/Montreal", "CERCLE_HTTP_HOST": "0.0.0.0",
        "CERCLE_HTTP_PORT": "8080", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t",
        "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "http://127.0.0.1:9/api", "CERCLE_SLACK_COMMAND": "/cercle-dev",
        "MATRIX_HOMESERVER": "http://127.0.0.1:8008", "MATRIX_USER_ID": "@cercle:ex.org", "MATRIX_PASSWORD": "pw",
        "CERCLE_MATRIX_PREFIX": "!c", "CERCLE_SECRET_KEY": "k" * 40})
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/cercle"
    assert s.admins == (AccountSpec("slack", "T1", "U2"), AccountSpec("matrix", "ex.org", "@a:ex.org"),
                        AccountSpec("console", "local", "bob"))
    assert s.locale == "fr" and s.timezone == "America/Montreal" and s.http_port == 8080
    slack, matrix = s.section("slack"), s.section("matrix")
    assert s.configured() == ("slack", "matrix") and slack.api_url == "http://127.0.0.1:9/api/"
    assert slack.command == "/cercle-dev" and matrix.prefix == "!c" and slack.socket_mode
    assert (matrix.homeserver, matrix.user_id, matrix.password) == ("http://127.0.0.1:8008", "@cercle:ex.org", "pw")
    assert [str(a) for a in s.admins] == ["slack:T1:U2", "matrix:@a:ex.org", "console:bob"]
    assert sorted(s.secrets()) == sorted(["p", "xoxb-1", "s3cr3t", "xapp-1", "pw", "k" * 40])


def test_socket_mode_needs_no_signing_secret() -> None:
    slack = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).section("slack")
    assert slack.configured and slack.socket_mode and slack.signing_secret is None


def test_secrets_are_not_in_the_representation() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-secret-token", "SLACK_SIGNING_SECRET": "signing-secret",
                       "CERCLE_DATABASE_URL": "postgresql+psycopg://u:dbpass@h/d"})
    text = repr(s)
    assert "xoxb-secret-token" not in text and "signing-secret" not in text and "dbpass" not in text
    assert "SlackSettings(" in text  # the sections are shown, without their secrets


@pytest.mark.parametrize(("env", "name"), [
    ({"CERCLE_DATABASE_URL": "not a url"}, "CERCLE_DATABASE_URL"),
    ({"CERCLE_DATABASE_URL": "mysql://x/y"}, "CERCLE_DATABASE_URL"),
    ({"CERCLE_ADMINS": "alice"}, "CERCLE_ADMINS"),
    ({"CERCLE_ADMINS": "slack:U1"}, "CERCLE_ADMINS"),
    ({"CERCLE_ADMINS": "matrix:alice"}, "CERCLE_ADMINS"),
    ({"CERCLE_LOCALE": "de"}, "CERCLE_LOCALE"),
    ({"CERCLE_TIMEZONE": "Mars/Olympus"}, "CERCLE_TIMEZONE"),
    ({"CERCLE_HTTP_PORT": "http"}, "CERCLE_HTTP_PORT"),
    ({"CERCLE_HTTP_PORT": "70000"}, "CERCLE_HTTP_PORT"),
    ({"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
    ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
    ({"CERCLE_SLACK_COMMAND": "cercle"}, "CERCLE_SLACK_COMMAND"),
    ({"MATRIX_HOMESERVER": "matrix.org", "MATRIX_USER_ID": "@a:b.c", "MATRIX_PASSWORD": "p"}, "MATRIX_HOMESERVER"),
    ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "a", "MATRIX_PASSWORD": "p"}, "MATRIX_USER_ID"),
    ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "@a:b.c"}, "MATRIX_PASSWORD"),
    ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "@a:b.c", "MATRIX_PASSWORD": "p"}, "CERCLE_SECRET_KEY"),
    ({"CERCLE_MATRIX_PREFIX": "! cercle"}, "CERCLE_MATRIX_PREFIX"),
])
def test_a_wrong_value_names_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert info.value.name == name and str(info.value).startswith(name + ":")
    assert "\n" not in str(info.value)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("CERCLE_LOCALE=fr\nCERCLE_TIMEZONE=UTC\n")
    monkeypatch.setenv("CERCLE_TIMEZONE", "Europe/Brussels")
    s = load_settings(dotenv_path=dotenv)
    assert s.locale == "fr" and s.timezone == "Europe/Brussels"
