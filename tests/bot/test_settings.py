from pathlib import Path

import pytest

from bot.settings import AccountSpec, SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings({})
    assert s.database_url == "sqlite:///cercle.db" and s.locale == "en" and s.timezone == "Europe/Paris"
    assert (s.http_host, s.http_port, s.slack_command, s.matrix_prefix) == ("127.0.0.1", 3000, "/cercle", "!cercle")
    assert not s.slack_enabled and not s.matrix_enabled


def test_every_setting_is_read() -> None:
    s = load_settings({
        "CERCLE_DATABASE_URL": "postgresql://u:p@db:5432/cercle",
        "CERCLE_ADMINS": "slack:T1:U2, matrix:@a:ex.org,console:bob",
        "CERCLE_LOCALE": "fr", "CERCLE_TIMEZONE": "America/Montreal", "CERCLE_HTTP_HOST": "0.0.0.0",
        "CERCLE_HTTP_PORT": "8080", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t",
        "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "http://127.0.0.1:9/api", "CERCLE_SLACK_COMMAND": "/cercle-dev",
        "MATRIX_HOMESERVER": "http://127.0.0.1:8008", "MATRIX_USER_ID": "@cercle:ex.org", "MATRIX_PASSWORD": "pw",
        "CERCLE_MATRIX_PREFIX": "!c"})
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/cercle"
    assert s.admins == (AccountSpec("slack", "T1", "U2"), AccountSpec("matrix", "ex.org", "@a:ex.org"),
                        AccountSpec("console", "local", "bob"))
    assert s.locale == "fr" and s.timezone == "America/Montreal" and s.http_port == 8080
    assert s.slack_enabled and s.matrix_enabled and s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.slack_command == "/cercle-dev" and s.matrix_prefix == "!c"


def test_secrets_are_not_in_the_representation() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-secret-token", "SLACK_SIGNING_SECRET": "signing-secret",
                       "CERCLE_DATABASE_URL": "postgresql+psycopg://u:dbpass@h/d"})
    text = repr(s)
    assert "xoxb-secret-token" not in text and "signing-secret" not in text and "dbpass" not in text


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
    ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
    ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
    ({"CERCLE_SLACK_COMMAND": "cercle"}, "CERCLE_SLACK_COMMAND"),
    ({"MATRIX_HOMESERVER": "matrix.org", "MATRIX_USER_ID": "@a:b.c", "MATRIX_PASSWORD": "p"}, "MATRIX_HOMESERVER"),
    ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "a", "MATRIX_PASSWORD": "p"}, "MATRIX_USER_ID"),
    ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "@a:b.c"}, "MATRIX_PASSWORD"),
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
